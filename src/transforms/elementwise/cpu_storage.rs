//! What the fused CPU kernels (affine map, rational-quadratic spline) share: the
//! contiguous float slice of a storage and the dispatch on its float type.

use candle_core::{CpuStorage, Layout, WithDType};

/// The values of a contiguous `l` in `s` as a slice; an error for a strided layout.
pub(super) fn slice<'a, T: WithDType>(
    s: &'a CpuStorage,
    l: &Layout,
) -> candle_core::Result<&'a [T]> {
    let v = s.as_slice::<T>()?;
    let (a, b) = l.contiguous_offsets().ok_or_else(|| {
        candle_core::Error::Msg("fused CPU kernel: input must be contiguous".into())
    })?;
    Ok(&v[a..b])
}

/// Evaluate `$body` with the type alias `$t` set to the storage's float type (f32 or
/// f64; any other type is an error).
macro_rules! by_dtype {
    ($s:expr, $t:ident => $body:expr) => {
        match $s {
            CpuStorage::F32(_) => {
                type $t = f32;
                $body
            }
            CpuStorage::F64(_) => {
                type $t = f64;
                $body
            }
            _ => Err(candle_core::Error::Msg(
                "fused CPU kernels support f32 and f64".into(),
            )),
        }
    };
}
pub(super) use by_dtype;
