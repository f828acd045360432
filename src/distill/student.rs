//! The IAF student of a MAF teacher: the teacher's stack with every masked
//! autoregressive block wrapped in [`Inverted`](crate::transforms::Inverted), so that
//! sampling takes one network pass per block instead of `dim`.
//!
//! With the teacher's block count the two stacks are **aligned**: layer `k` of the
//! student is layer `k` of the teacher (same standardisation, permutations, ActNorm,
//! base) or its inverted-autoregressive counterpart. The fixed and non-autoregressive
//! layers then start from the teacher's weights, and each student block can be taught
//! the teacher block's map on the teacher's own states.

use crate::error::{Error, Result};
use crate::flow::{Flow, FlowBuilder, FlowConfig, FlowKind, FlowSpec};
use crate::nn::ConditionerSpec;
use crate::transforms::TransformSpec;

/// Check that `teacher` is a MAF (kind `maf` or `maf_spline`: masked autoregressive
/// blocks) without a context; an [`Error::Config`] naming the kind otherwise.
pub fn check_teacher(kind: FlowKind, spec: &FlowSpec) -> Result<()> {
    let made = spec
        .transforms
        .iter()
        .filter(|t| matches!(t, TransformSpec::MaskedAutoregressive { .. }))
        .count();
    if !matches!(kind, FlowKind::Maf | FlowKind::MafSpline) || made == 0 {
        return Err(Error::config(format!(
            "distill: the teacher must be a MAF run ([flow] kind = \"maf\" or \"maf_spline\"), this run is {kind:?}"
        )));
    }
    if spec.context_dim > 0 {
        return Err(Error::config(
            "distill: conditional teachers are not supported (the run has a context)",
        ));
    }
    Ok(())
}

/// The student's spec: the teacher's own layers (aligned) when `blocks` is `None` or
/// the teacher's count, else a fresh stack of `blocks` blocks from the teacher's
/// `[flow]` settings with its standardisation; `hidden` replaces the conditioner width.
/// Every masked autoregressive block is wrapped in `Inverted`.
///
/// ```
/// use flowinfer::distill::student_spec;
/// use flowinfer::flow::{FlowBuilder, FlowConfig};
/// use flowinfer::transforms::TransformSpec;
/// let cfg = FlowConfig { blocks: 2, hidden: 16, ..FlowConfig::maf() };
/// let teacher = FlowBuilder::new(3, cfg.clone()).build_spec()?;
/// let (student, aligned) = student_spec(&teacher, &cfg, None, None)?;
/// assert!(aligned);
/// assert!(matches!(student.transforms[0], TransformSpec::Inverted { .. }));
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn student_spec(
    teacher: &FlowSpec,
    flow: &FlowConfig,
    blocks: Option<usize>,
    hidden: Option<usize>,
) -> Result<(FlowSpec, bool)> {
    let teacher_blocks = teacher
        .transforms
        .iter()
        .filter(|t| matches!(t, TransformSpec::MaskedAutoregressive { .. }))
        .count();
    let aligned = blocks.is_none_or(|b| b == teacher_blocks);
    let mut spec = if aligned {
        teacher.clone()
    } else {
        let mut b = FlowBuilder::new(
            teacher.dim,
            FlowConfig {
                blocks: blocks.unwrap_or(teacher_blocks),
                ..flow.clone()
            },
        );
        if let Some(TransformSpec::Standardize { mean, std }) = teacher.transforms.first() {
            b.standardize = Some((mean.clone(), std.clone()));
        }
        b.build_spec()?
    };
    for t in &mut spec.transforms {
        if let TransformSpec::MaskedAutoregressive {
            dim,
            order,
            map,
            conditioner,
        } = t
        {
            let mut conditioner = conditioner.clone();
            if let Some(h) = hidden {
                set_hidden(&mut conditioner, h);
            }
            *t = TransformSpec::Inverted {
                inner: Box::new(TransformSpec::MaskedAutoregressive {
                    dim: *dim,
                    order: order.clone(),
                    map: map.clone(),
                    conditioner,
                }),
            };
        }
    }
    spec.validate()?;
    Ok((spec, aligned))
}

fn set_hidden(c: &mut ConditionerSpec, h: usize) {
    match c {
        ConditionerSpec::Mlp { hidden, .. }
        | ConditionerSpec::ResidualMlp { hidden, .. }
        | ConditionerSpec::BayesMlp { hidden, .. } => *hidden = h,
    }
}

/// Copy the teacher's weights of every layer that is not a masked autoregressive
/// block (ActNorm, LU-linear, a trainable base) into the aligned `student`.
pub fn copy_shared_layers(teacher: &Flow, student: &Flow) -> Result<usize> {
    let made: Vec<String> = teacher
        .spec()
        .transforms
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, TransformSpec::MaskedAutoregressive { .. }))
        .map(|(i, _)| format!("t{i}."))
        .collect();
    let mut copied = 0;
    for (name, var) in teacher.params().named_vars() {
        if made.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        student.params().set(&name, var.as_tensor())?;
        copied += 1;
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn teacher_cfg() -> FlowConfig {
        FlowConfig {
            blocks: 2,
            hidden: 8,
            actnorm: true,
            ..FlowConfig::maf()
        }
    }

    #[test]
    fn other_block_counts_are_not_aligned_and_hidden_is_replaced() {
        let cfg = teacher_cfg();
        let mut b = FlowBuilder::new(3, cfg.clone());
        b.standardize = Some((vec![1.0; 3], vec![2.0; 3]));
        let t = b.build_spec().unwrap();
        let (s, aligned) = student_spec(&t, &cfg, Some(3), Some(5)).unwrap();
        assert!(!aligned);
        assert_eq!(s.transforms[0], t.transforms[0]); // the standardisation
        let inner: Vec<&TransformSpec> = s
            .transforms
            .iter()
            .filter_map(|t| match t {
                TransformSpec::Inverted { inner } => Some(inner.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(inner.len(), 3);
        assert!(inner.iter().all(|t| matches!(
            t,
            TransformSpec::MaskedAutoregressive {
                conditioner: ConditionerSpec::Mlp { hidden: 5, .. },
                ..
            }
        )));
        assert!(check_teacher(FlowKind::Nsf, &t).is_err());
        assert!(check_teacher(FlowKind::Maf, &t).is_ok());
    }

    #[test]
    fn aligned_students_start_from_the_teachers_shared_layers() {
        let cfg = teacher_cfg();
        let t = FlowBuilder::new(3, cfg.clone()).build_spec().unwrap();
        let teacher = Flow::new(t.clone(), DType::F32, &Device::Cpu, 1).unwrap();
        let x = candle_core::Tensor::randn(0f32, 3.0, (64, 3), &Device::Cpu).unwrap();
        teacher.initialize_from_data(&x, None).unwrap(); // ActNorm away from identity
        let (s, aligned) = student_spec(&teacher.spec(), &cfg, None, None).unwrap();
        assert!(aligned);
        let student = Flow::new(s, DType::F32, &Device::Cpu, 2).unwrap();
        let copied = copy_shared_layers(&teacher, &student).unwrap();
        assert!(copied >= 4, "{copied}"); // two ActNorms × (scale, shift)
        let get = |f: &Flow| -> Vec<(String, Vec<f32>)> {
            f.params()
                .named_vars()
                .into_iter()
                .filter(|(n, _)| !n.contains("made"))
                .map(|(n, v)| (n, v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()))
                .collect()
        };
        assert_eq!(get(&teacher), get(&student));
    }
}
