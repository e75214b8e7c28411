//! What posix_ipc lacks: rings, `Shared` and `RobustMutex`.

use pyo3::prelude::*;

/// Adds the extra classes to the module.
pub(crate) fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
