//! Probability density distillation (van den Oord et al. 2018; CaloFlow, Krause & Shih
//! 2021): a trained MAF (fast density, sampling `dim` passes per block) teaches an IAF
//! student (sampling one pass per block) by
//!
//! * the reverse KL on the student's own samples, `E_q[log q − log p_teacher]`, and
//! * CaloFlow's teacher–student terms on teacher latents: for `z` drawn from the base,
//!   each student block imitates the teacher's block on the teacher's states, and the
//!   student's sample `S⁻¹(z)` is pulled onto the teacher's `T⁻¹(z)`.
//!
//! Files: [`config`] (DistillConfig), [`student`] (the student's stack, aligned with
//! the teacher's), [`pairs`] (teacher latents and states), [`loss`] (the three terms),
//! [`throughput`] (sampling speed), [`run`] ([`distill`]: the job, a normal run
//! directory). Figures and commands: docs/GENERATION.md.

pub mod config;
pub mod loss;
pub mod pairs;
pub mod run;
pub mod student;
pub mod throughput;

pub use config::DistillConfig;
pub use loss::{DistillLoss, LossTerms};
pub use pairs::TeacherPairs;
pub use run::{distill, DistillReport, Distilled};
pub use student::{check_teacher, copy_shared_layers, student_spec};
pub use throughput::{compare_throughput, sampling_rate, Throughput};
