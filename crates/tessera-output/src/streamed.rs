//! Writing an image file from its first byte to its last, while it renders.
//!
//! On Linux the bytes go to the disk by direct I/O (`O_DIRECT`), a MiB at a
//! time, from a thread of their own, not through the page cache: the
//! kernel's copy into fresh page-cache pages took the render process's
//! processor time from the cores rendering the image (docs/performance.md,
//! "The output file": 0.5 ms a MiB in renders, up to 3 ms after a pause,
//! on the project's virtual machines; 0.1-0.2 ms by direct I/O). The
//! thread waits for the disk, so that the render does not. Where the file system
//! refuses direct I/O, and for what is written out of order (an EXR's
//! offset table, last) or does not fill a block (the file's end), bytes go
//! through the page cache, and the kernel is asked to start putting them on
//! disk every few MiB.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// A file written through a buffer, by direct I/O where it can be.
pub struct StreamedFile<'f> {
    file: &'f mut File,
    /// The bytes not yet handed on, from the file offset `offset`.
    chunk: Chunk,
    offset: u64,
    /// The thread writing full chunks by direct I/O; none once direct I/O
    /// stopped (or never started).
    disk: Option<DiskWriter>,
    /// The page cache's bytes up to here were handed to writeback.
    advised: u64,
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
        let start = storage.as_ptr().align_offset(ALIGN);
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
    thread: JoinHandle<()>,
}

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
                        return;
                    }
                }
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
    /// leaves an empty one in its place: one the thread wrote (waiting for
    /// for it once [`IN_FLIGHT`] are out), or a new one before.
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
            .map_err(|_| io::Error::other("the file's writing thread stopped"))?;
        self.in_flight += 1;
        Ok(())
    }

    /// One chunk the thread finished, or its error.
    fn wait(&mut self) -> io::Result<Chunk> {
        let written = self
            .written
            .recv()
            .map_err(|_| io::Error::other("the file's writing thread stopped"))?;
        self.in_flight -= 1;
        written
    }

    /// Waits for every chunk handed on, and for the thread to end.
    fn finish(mut self) -> io::Result<()> {
        let mut result = Ok(());
        while self.in_flight > 0 {
            if let Err(e) = self.wait() {
                result = result.and(Err(e));
            }
        }
        drop(self.chunks);
        if let Err(panic) = self.thread.join() {
            std::panic::resume_unwind(panic);
        }
        result
    }
}

impl<'f> StreamedFile<'f> {
    /// Writes `file` (new and empty) from its start, by direct I/O if
    /// `try_direct` and the file system allows it.
    pub fn new(file: &'f mut File, try_direct: bool) -> StreamedFile<'f> {
        let disk = (try_direct && set_direct(file, true).is_ok())
            .then(|| file.try_clone().ok().and_then(DiskWriter::start))
            .flatten();
        if try_direct && disk.is_none() {
            // Direct I/O on this thread would wait for the disk.
            let _ = set_direct(file, false);
        }
        StreamedFile {
            file,
            chunk: Chunk::new(),
            offset: 0,
            disk,
            advised: 0,
        }
    }

    /// Whether bytes still go to the disk by direct I/O.
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        self.disk.is_some()
    }

    /// Hands the full chunk on: to the disk's thread, or through the page
    /// cache.
    fn pass_on(&mut self) -> io::Result<()> {
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
    /// page cache: direct I/O stops.
    fn drain(&mut self) -> io::Result<()> {
        if let Some(disk) = self.disk.take() {
            let finished = disk.finish();
            // Turning it off cannot fail where turning it on worked; if it
            // did, the write that follows says so.
            let _ = set_direct(self.file, false);
            finished?;
        }
        self.write_cached()
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
        if self.chunk.held == CHUNK {
            self.pass_on()?;
        }
        Ok(self.chunk.fill(bytes))
    }

    /// Hands every byte held to the kernel, waiting for the disk's thread.
    /// Direct I/O stops: the file's last block goes through the page cache.
    fn flush(&mut self) -> io::Result<()> {
        self.drain()
    }
}

impl Seek for StreamedFile<'_> {
    /// Writes what is held, then goes on at `to`, through the page cache.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let here = self.offset + self.chunk.held as u64;
        self.drain()?;
        let out_of_range = || io::Error::new(io::ErrorKind::InvalidInput, "seek out of range");
        self.offset = match to {
            SeekFrom::Start(offset) => offset,
            SeekFrom::Current(delta) => here.checked_add_signed(delta).ok_or_else(out_of_range)?,
            SeekFrom::End(delta) => (self.file.metadata()?.len())
                .checked_add_signed(delta)
                .ok_or_else(out_of_range)?,
        };
        Ok(self.offset)
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

    /// A directory on the disk the project is on (`/tmp` may be a tmpfs,
    /// which refuses direct I/O before Linux 6.6).
    fn on_disk() -> tempfile::TempDir {
        tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap()
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
    /// file back; also says whether direct I/O was still on before the
    /// seek, and whether the file system allows it.
    fn written(
        direct: bool,
        bytes: &[u8],
        piece: usize,
        patch: &[u8],
        at: u64,
    ) -> (Vec<u8>, bool, bool) {
        let dir = on_disk();
        let path = dir.path().join("out.bin");
        let mut file = File::create(&path).unwrap();
        let mut streamed = StreamedFile::new(&mut file, direct);
        for part in bytes.chunks(piece) {
            streamed.write_all(part).unwrap();
        }
        let was_direct = streamed.is_direct();
        streamed.seek(SeekFrom::Start(at)).unwrap();
        streamed.write_all(patch).unwrap();
        streamed.flush().unwrap();
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
}
