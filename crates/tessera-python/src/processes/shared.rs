//! The memory a render process and its worker share: a memfd that both map
//! (memmap2), holding one tile's planes at a time, after a header in which
//! the worker notes which request it started.

use memmap2::MmapMut;
use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A shared, growable array of floats.
pub struct SharedTiles {
    file: File,
    map: Option<MmapMut>,
}

/// The render process grows the memory by at least this much, so that
/// slightly larger tiles (at the image's edges, say) do not remap it.
const GROWTH: usize = 1 << 20;

/// Bytes before the planes: the number of the request the worker started
/// last (a u64), padded to a cache line.
const HEADER: usize = 64;

impl SharedTiles {
    /// New, empty shared memory, closed on exec (the pool passes it to its
    /// worker on purpose).
    pub fn create() -> io::Result<SharedTiles> {
        // SAFETY: the name is a NUL-terminated string; memfd_create returns
        // a new descriptor that nothing else owns, or -1.
        let fd = unsafe { libc::memfd_create(c"tessera-tiles".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor owned by nobody else.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(SharedTiles { file, map: None })
    }

    /// The worker's side, from the descriptor it inherited.
    ///
    /// # Safety
    /// `fd` must be an open memfd that nothing else in this process owns.
    pub unsafe fn inherited(fd: RawFd) -> SharedTiles {
        // SAFETY: the caller's promise.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        SharedTiles { file, map: None }
    }

    /// A second descriptor of the same memory, closed on exec, to hand to
    /// each worker process started for it.
    pub fn duplicate(&self) -> io::Result<OwnedFd> {
        Ok(self.file.try_clone()?.into())
    }

    /// The size in bytes now.
    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, |map| map.len())
    }

    /// Grows the memory to hold at least `floats` floats (the render
    /// process's side: it sets the size and tells the worker).
    pub fn reserve(&mut self, floats: usize) -> io::Result<()> {
        let bytes = HEADER + floats * size_of::<f32>();
        if bytes <= self.len() {
            return Ok(());
        }
        let size = bytes.next_multiple_of(GROWTH);
        self.file.set_len(size as u64)?;
        self.map_bytes(size)
    }

    /// Maps the memory at the size the render process set (the worker's
    /// side, told the size with each request).
    pub fn map_bytes(&mut self, bytes: usize) -> io::Result<()> {
        if bytes == self.len() {
            return Ok(());
        }
        self.map = None;
        // SAFETY: the file is a memfd only this process and its peer map;
        // they never touch it at the same time (one waits on the other's
        // message), and its size only grows, so the mapping stays valid.
        self.map = Some(unsafe { MmapMut::map_mut(&self.file)? });
        Ok(())
    }

    /// Notes that the worker started request `request` (the worker's side).
    pub fn set_started(&mut self, request: u64) {
        if let Some(map) = self.map.as_mut() {
            map[..size_of::<u64>()].copy_from_slice(&request.to_ne_bytes());
        }
    }

    /// The request the worker started last, if it started one since the
    /// memory was first mapped (the render process's side).
    pub fn started(&self) -> Option<u64> {
        let map = self.map.as_ref()?;
        let bytes = map[..size_of::<u64>()].try_into().expect("eight bytes");
        Some(u64::from_ne_bytes(bytes))
    }

    /// The memory after the header, as floats.
    pub fn floats(&mut self) -> &mut [f32] {
        let Some(map) = self.map.as_mut() else {
            return &mut [];
        };
        let bytes: &mut [u8] = &mut map[HEADER..];
        // SAFETY: a mapping is page-aligned, and the header a multiple of 4
        // bytes long, so the planes are aligned for f32; the length
        // is rounded down to whole floats; every bit pattern is a valid f32.
        unsafe {
            std::slice::from_raw_parts_mut(
                bytes.as_mut_ptr().cast::<f32>(),
                bytes.len() / size_of::<f32>(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_mappings_of_one_memfd_see_each_others_writes_and_growth() {
        let mut render = SharedTiles::create().unwrap();
        render.reserve(10).unwrap();
        // A second mapping of the same memory, as the worker has.
        let fd = std::os::fd::IntoRawFd::into_raw_fd(render.duplicate().unwrap());
        let mut worker = unsafe { SharedTiles::inherited(fd) };
        worker.map_bytes(render.len()).unwrap();
        render.floats()[3] = 1.5;
        assert_eq!(worker.floats()[3], 1.5);
        worker.set_started(7);
        assert_eq!(render.started(), Some(7));
        assert_eq!(render.floats()[0], 0.0);
        render.reserve(GROWTH).unwrap();
        worker.map_bytes(render.len()).unwrap();
        let last = worker.floats().len() - 1;
        worker.floats()[last] = -2.0;
        assert_eq!(render.floats()[last], -2.0);
        assert_eq!(render.floats()[3], 1.5);
    }
}
