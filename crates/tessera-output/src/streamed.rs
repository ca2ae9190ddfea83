//! Writing an image file from its first byte to its last, while it renders.
//!
//! On Linux the bytes go to the disk by direct I/O (`O_DIRECT`), a MiB at a
//! time, from a thread of their own, not through the page cache: the
//! kernel's copy into fresh page-cache pages took the render process's
//! processor time from the cores rendering the image (docs/performance.md,
//! "The file's bytes: direct I/O"). The thread waits for the disk, so that
//! the render does not. The last chunk (the file's end, up to a MiB), what
//! is written after a seek (an EXR's offset table, last), and everything on
//! a file system that refuses direct I/O go through the page cache, and the
//! kernel is asked to start putting them on disk every few MiB.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// A file written through a buffer, by direct I/O where it can be, from
/// its position when handed over; left positioned after what was written.
pub struct StreamedFile<'f> {
    file: &'f mut File,
    /// The bytes not yet handed on, from the file offset `offset`.
    chunk: Chunk,
    offset: u64,
    /// Whether full chunks may go by direct I/O: the file system took the
    /// flag, the offset is aligned, and no seek or flush has happened yet.
    direct: bool,
    /// The thread writing full chunks by direct I/O, from the first one.
    disk: Option<DiskWriter>,
    /// Whether every chunk the thread wrote went by direct I/O.
    #[cfg(test)]
    stayed_direct: bool,
    /// The page cache's bytes up to here were handed to writeback.
    advised: u64,
    /// The first error: every later call returns it again, so that no
    /// write after a failed one seems to succeed.
    failed: Option<(io::ErrorKind, String)>,
}

/// Direct I/O moves whole blocks from aligned memory to aligned offsets;
/// 4 KiB is a multiple of every common disk's logical block. A disk that
/// wants more refuses the write, which then goes through the page cache.
const ALIGN: usize = 4096;

/// Bytes handed to the disk at once. Up to [`IN_FLIGHT`] chunks wait for
/// it while the next fills.
const CHUNK: usize = 1 << 20;
const IN_FLIGHT: usize = 2;

/// Page-cache bytes between two requests to start writing them to disk,
/// so that the final sync waits for the last few MiB only.
const ADVICE_STEP: u64 = 8 << 20;

/// Up to [`CHUNK`] bytes in memory aligned for direct I/O.
struct Chunk {
    /// `ALIGN` bytes longer than `CHUNK`, so that an aligned `CHUNK` lies
    /// within it.
    storage: Vec<u8>,
    /// Where the aligned bytes start in `storage`.
    start: usize,
    held: usize,
}

impl Chunk {
    fn new() -> Chunk {
        let storage = vec![0; CHUNK + ALIGN];
        let start = (ALIGN - storage.as_ptr() as usize % ALIGN) % ALIGN;
        Chunk {
            storage,
            start,
            held: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.held]
    }

    /// Appends what fits of `bytes`; returns how much that was.
    fn fill(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(CHUNK - self.held);
        let at = self.start + self.held;
        self.storage[at..at + n].copy_from_slice(&bytes[..n]);
        self.held += n;
        n
    }
}

/// A thread writing chunks at their offsets by direct I/O, and handing
/// each chunk back (or the error that stopped it).
struct DiskWriter {
    chunks: SyncSender<(Chunk, u64)>,
    written: Receiver<io::Result<Chunk>>,
    in_flight: usize,
    /// Ends saying whether every chunk went by direct I/O.
    thread: JoinHandle<bool>,
}

const THREAD_GONE: &str = "the file's writing thread stopped";

impl DiskWriter {
    /// A thread writing to `file` (a second handle of the file being
    /// written, open for direct I/O); none if no thread can be started.
    fn start(file: File) -> Option<DiskWriter> {
        let (chunks, to_write) = sync_channel::<(Chunk, u64)>(IN_FLIGHT);
        let (done, written) = sync_channel(IN_FLIGHT + 1);
        let thread = std::thread::Builder::new()
            .name("tessera-write".into())
            .spawn(move || {
                let mut direct = true;
                for (chunk, offset) in to_write {
                    let result = write_all_at(&file, chunk.bytes(), offset, &mut direct);
                    if done.send(result.map(|()| chunk)).is_err() {
                        break;
                    }
                }
                direct
            })
            .ok()?;
        Some(DiskWriter {
            chunks,
            written,
            in_flight: 0,
            thread,
        })
    }

    /// Hands `chunk` (whole blocks, to go at `offset`) to the thread, and
    /// leaves an empty one in its place: a new one while fewer than
    /// [`IN_FLIGHT`] are out, else one the thread wrote (waiting for it).
    fn submit(&mut self, chunk: &mut Chunk, offset: u64) -> io::Result<()> {
        let mut full = if self.in_flight < IN_FLIGHT {
            Chunk::new()
        } else {
            self.wait()?
        };
        full.held = 0;
        std::mem::swap(chunk, &mut full);
        self.chunks
            .send((full, offset))
            .map_err(|_| io::Error::other(THREAD_GONE))?;
        self.in_flight += 1;
        Ok(())
    }

    /// One chunk the thread finished, or its error.
    fn wait(&mut self) -> io::Result<Chunk> {
        self.in_flight -= 1;
        self.written
            .recv()
            .map_err(|_| io::Error::other(THREAD_GONE))?
    }

    /// Waits for every chunk handed on, and for the thread to end; says
    /// whether every chunk went by direct I/O.
    fn finish(mut self) -> io::Result<bool> {
        let mut result = Ok(());
        while self.in_flight > 0 {
            if let Err(e) = self.wait() {
                result = result.and(Err(e));
            }
        }
        drop(self.chunks);
        match self.thread.join() {
            Ok(stayed_direct) => result.map(|()| stayed_direct),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl<'f> StreamedFile<'f> {
    /// Writes `file` from its position, by direct I/O if `try_direct`, the
    /// position is aligned and the file system allows it.
    pub fn new(file: &'f mut File, try_direct: bool) -> StreamedFile<'f> {
        let offset = file.stream_position().unwrap_or(0);
        let direct =
            try_direct && offset.is_multiple_of(ALIGN as u64) && set_direct(file, true).is_ok();
        StreamedFile {
            file,
            chunk: Chunk::new(),
            offset,
            direct,
            disk: None,
            #[cfg(test)]
            stayed_direct: direct,
            advised: offset,
            failed: None,
        }
    }

    /// Whether every full chunk so far went by direct I/O.
    #[cfg(test)]
    fn wrote_direct(&self) -> bool {
        self.stayed_direct
    }

    /// `attempt`, unless an earlier call failed; its error is kept.
    fn unless_failed<T>(
        &mut self,
        attempt: impl FnOnce(&mut Self) -> io::Result<T>,
    ) -> io::Result<T> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        let result = attempt(self);
        if let Err(e) = &result {
            self.failed = Some((e.kind(), e.to_string()));
        }
        result
    }

    /// Hands the full chunk on: to the disk's thread, or through the page
    /// cache.
    fn pass_on(&mut self) -> io::Result<()> {
        if self.direct && self.disk.is_none() {
            self.disk = self.file.try_clone().ok().and_then(DiskWriter::start);
            if self.disk.is_none() {
                // Direct I/O on this thread would wait for the disk.
                self.stop_direct();
            }
        }
        match self.disk.as_mut() {
            Some(disk) => {
                disk.submit(&mut self.chunk, self.offset)?;
                self.offset += CHUNK as u64;
                Ok(())
            }
            None => self.write_cached(),
        }
    }

    /// Waits for the disk's thread, and writes what is held through the
    /// page cache: direct I/O stops. Leaves the file positioned after it.
    fn drain(&mut self) -> io::Result<()> {
        if let Some(disk) = self.disk.take() {
            let finished = disk.finish();
            #[cfg(test)]
            {
                self.stayed_direct &= *finished.as_ref().unwrap_or(&false);
            }
            self.stop_direct();
            finished?;
        }
        self.stop_direct();
        self.write_cached()?;
        self.file.seek(SeekFrom::Start(self.offset))?;
        Ok(())
    }

    fn stop_direct(&mut self) {
        if self.direct {
            // Turning it off cannot fail where turning it on worked; if it
            // did, the writes that follow say so.
            let _ = set_direct(self.file, false);
            self.direct = false;
        }
    }

    /// Writes the chunk's bytes through the page cache, and empties it.
    fn write_cached(&mut self) -> io::Result<()> {
        write_all_at(self.file, self.chunk.bytes(), self.offset, &mut false)?;
        self.offset += self.chunk.held as u64;
        self.chunk.held = 0;
        if self.offset >= self.advised + ADVICE_STEP {
            start_writeback(self.file, self.advised, self.offset - self.advised);
            self.advised = self.offset;
        }
        Ok(())
    }
}

impl Write for StreamedFile<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.unless_failed(|file| {
            if file.chunk.held == CHUNK {
                file.pass_on()?;
            }
            Ok(file.chunk.fill(bytes))
        })
    }

    /// Hands every byte held to the kernel, waiting for the disk's thread.
    /// Direct I/O stops: the last chunk goes through the page cache.
    fn flush(&mut self) -> io::Result<()> {
        self.unless_failed(Self::drain)
    }
}

impl Seek for StreamedFile<'_> {
    /// Writes what is held, then goes on at `to`, through the page cache.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.unless_failed(|file| {
            let here = file.offset + file.chunk.held as u64;
            let out_of_range = || io::Error::new(io::ErrorKind::InvalidInput, "seek out of range");
            let target = match to {
                SeekFrom::Start(offset) => offset,
                SeekFrom::Current(delta) => {
                    here.checked_add_signed(delta).ok_or_else(out_of_range)?
                }
                SeekFrom::End(delta) => {
                    file.drain()?;
                    (file.file.metadata()?.len())
                        .checked_add_signed(delta)
                        .ok_or_else(out_of_range)?
                }
            };
            if target != here {
                file.drain()?;
                file.offset = target;
            }
            Ok(target)
        })
    }
}

impl Drop for StreamedFile<'_> {
    /// Dropped without a flush (the encoding failed): the thread ends once
    /// it has written what it holds, and the file is left without direct
    /// I/O.
    fn drop(&mut self) {
        if let Some(disk) = self.disk.take() {
            drop(disk.chunks);
            let _ = disk.thread.join();
        }
        self.stop_direct();
    }
}

/// Writes all of `bytes` at `offset`. If `direct` and a write fails (a
/// file system or disk that wants other alignment, or a write cut short),
/// direct I/O stops and the rest goes through the page cache, which says so
/// again if the error was not direct I/O's.
fn write_all_at(file: &File, bytes: &[u8], offset: u64, direct: &mut bool) -> io::Result<()> {
    let mut done = 0;
    while done < bytes.len() {
        match write_at(file, &bytes[done..], offset + done as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if *direct => {
                let _ = set_direct(file, false);
                *direct = false;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<usize> {
    file.write_at(bytes, offset)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, bytes: &[u8], offset: u64) -> io::Result<usize> {
    file.seek(SeekFrom::Start(offset))?;
    file.write(bytes)
}

/// Turns direct I/O on or off for `file`.
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this process owns, with integer
    // arguments; failure is a -1 return.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_DIRECT
    } else {
        flags & !libc::O_DIRECT
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_: &File, _: bool) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Asks Linux to start writing `len` bytes of `file` from `offset` to disk,
/// without waiting. Advice only: elsewhere, and where it fails, the final
/// sync does all the work.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: sync_file_range reads nothing of ours; a bad descriptor or
    // range is an error return, which is ignored.
    unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Bytes that differ from one offset to the next.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4093) as u8).collect()
    }

    /// Whether the file system of `dir` lets a file be opened for direct I/O.
    #[cfg(target_os = "linux")]
    fn allows_direct(dir: &std::path::Path) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        (std::fs::OpenOptions::new().write(true).create(true))
            .custom_flags(libc::O_DIRECT)
            .open(dir.join("probe"))
            .is_ok()
    }

    #[cfg(not(target_os = "linux"))]
    fn allows_direct(_: &std::path::Path) -> bool {
        false
    }

    /// Writes `bytes` in pieces of `piece` bytes, then `patch` at `at`
    /// after a seek (as an EXR's offset table is written), and reads the
    /// file back; also says whether every full chunk went by direct I/O,
    /// and whether the file system allows it.
    fn written(
        direct: bool,
        bytes: &[u8],
        piece: usize,
        patch: &[u8],
        at: u64,
    ) -> (Vec<u8>, bool, bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let mut file = File::create(&path).unwrap();
        let mut streamed = StreamedFile::new(&mut file, direct);
        for part in bytes.chunks(piece) {
            streamed.write_all(part).unwrap();
        }
        streamed.seek(SeekFrom::Start(at)).unwrap();
        streamed.write_all(patch).unwrap();
        streamed.flush().unwrap();
        let was_direct = streamed.wrote_direct();
        drop(streamed);
        file.sync_all().unwrap();
        let mut back = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut back).unwrap();
        (back, was_direct, allows_direct(dir.path()))
    }

    #[test]
    fn direct_and_cached_writes_give_the_same_file() {
        // Three chunks and a ragged end; pieces smaller and larger than a
        // block; a patch across a block boundary near the start.
        let bytes = pattern(3 * CHUNK + 12_345);
        let patch = pattern(9_000).iter().map(|b| !b).collect::<Vec<_>>();
        let mut expected = bytes.clone();
        expected[100..100 + patch.len()].copy_from_slice(&patch);
        for piece in [1000, 70_000, 5 * CHUNK] {
            let (cached, was_direct, _) = written(false, &bytes, piece, &patch, 100);
            assert!(
                cached == expected,
                "through the page cache, pieces of {piece}"
            );
            assert!(!was_direct);
            let (direct, was_direct, allowed) = written(true, &bytes, piece, &patch, 100);
            assert!(direct == expected, "by direct I/O, pieces of {piece}");
            assert_eq!(
                was_direct, allowed,
                "direct I/O used where the file system allows it"
            );
        }
    }

    #[test]
    fn a_file_shorter_than_a_block_is_written_whole() {
        let bytes = pattern(10);
        let (back, _, _) = written(true, &bytes, 3, &[], 10);
        assert_eq!(back, bytes);
    }

    #[test]
    fn writing_starts_at_the_files_position_and_leaves_it_after_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"HEADER").unwrap();
        let mut streamed = StreamedFile::new(&mut file, true);
        streamed.write_all(b"body").unwrap();
        streamed.flush().unwrap();
        assert!(!streamed.wrote_direct(), "an unaligned start is not direct");
        drop(streamed);
        assert_eq!(file.stream_position().unwrap(), 10);
        assert_eq!(std::fs::read(&path).unwrap(), b"HEADERbody");
    }

    #[test]
    fn after_a_failed_write_every_call_fails_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"").unwrap();
        // Open for reading only: every write is refused.
        let mut file = File::open(&path).unwrap();
        let mut streamed = StreamedFile::new(&mut file, true);
        streamed.write_all(b"held").unwrap();
        let first = streamed.flush().unwrap_err();
        for later in [
            streamed.write(b"more").unwrap_err(),
            streamed.flush().unwrap_err(),
            streamed.seek(SeekFrom::Start(0)).unwrap_err(),
        ] {
            assert_eq!(later.kind(), first.kind());
            assert_eq!(later.to_string(), first.to_string());
        }
    }
}
