//! [`RawShared`]: a `Shared` whose value is read and written in place under the write lock.

use std::marker::PhantomData;

use crate::error::{Error, Operation, Result};
use crate::shm::{Mapping, SharedMemory};
use crate::typed::IpcMessage;

/// A `T` at a fixed offset of a segment with no header: the form a C or Python program that
/// knows only the struct layout can share ([`IpcMessage::c_declaration`],
/// [`IpcMessage::python_format`]).
///
/// Reads and writes are whole-value copies with no protection against a concurrent writer: a
/// read may see a mix of two writes. Pair it with a [`Semaphore`](crate::Semaphore) (as
/// posix_ipc's demo does) when that matters, or use [`Shared`](crate::Shared).
pub struct RawShared<T> {
    pub(super) shm: SharedMemory,
    pub(super) map: Mapping,
    pub(super) _type: PhantomData<T>,
}

impl<T: IpcMessage> RawShared<T> {
    /// Creates a segment of exactly `size_of::<T>()` bytes holding `initial`.
    pub fn create(name: &str, initial: &T) -> Result<Self> {
        let shm = SharedMemory::create(name, std::mem::size_of::<T>() as u64)?;
        let this = Self::at(shm, 0);
        match this {
            Ok(this) => {
                this.write(initial)?;
                Ok(this)
            }
            Err(e) => {
                let _ = crate::shm::unlink_shared_memory(name);
                Err(e)
            }
        }
    }

    /// As [`create`](Self::create), owned: the segment is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, initial: &T) -> Result<crate::Owned<Self>> {
        Self::create(name, initial).map(crate::Owned::new)
    }

    /// Opens an existing segment and views the `T` at offset 0, checking the segment is large
    /// enough.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_at(name, 0)
    }

    /// Opens an existing segment and views the `T` at `offset`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`](crate::ErrorKind::Mismatch) naming both sizes if the segment is smaller than
    /// `offset + size_of::<T>()`.
    pub fn open_at(name: &str, offset: u64) -> Result<Self> {
        Self::at(SharedMemory::open(name)?, offset)
    }

    pub(super) fn at(shm: SharedMemory, offset: u64) -> Result<Self> {
        let map = shm.map_range(offset, std::mem::size_of::<T>())?;
        Ok(RawShared {
            shm,
            map,
            _type: PhantomData,
        })
    }

    /// Copies the value out.
    pub fn read(&self) -> Result<T> {
        let mut value = T::zeroed();
        self.map
            .read_at(0, bytemuck::bytes_of_mut(&mut value))
            .map_err(|e| Error::new(e.kind(), Operation::Load, e.object().clone(), e.detail()))?;
        Ok(value)
    }

    /// Copies `value` in.
    pub fn write(&self, value: &T) -> Result<()> {
        self.map
            .write_at(0, bytemuck::bytes_of(value))
            .map_err(|e| Error::new(e.kind(), Operation::Store, e.object().clone(), e.detail()))
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        self.shm.name()
    }

    /// Owner, mode and size of the segment, from `fstat` of the descriptor this handle holds
    /// (so they describe the object in use, even if its name was since given to another).
    /// Check who made a segment before trusting it with
    /// [`SegmentStat::is_private`](crate::SegmentStat::is_private) or the `uid`/`mode` fields.
    pub fn stat(&self) -> Result<crate::SegmentStat> {
        self.shm.stat()
    }

    /// Removes the segment's name.
    pub fn unlink(&self) -> Result<()> {
        self.shm.unlink()
    }
}

impl<T: IpcMessage> std::fmt::Debug for RawShared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawShared<{}>({:?})", T::LAYOUT.name, self.shm.name())
    }
}
