//! Object bytes between a stream and a file at the speed of the disk. An upload is written a batch of received
//! chunks at a time (one `writev` of the chunks as they came, no copy) on a blocking thread while the next batch
//! arrives, and the kernel is told to start writing each batch back at once, so the closing `fdatasync` finds
//! little left to do. A download hands out large chunks one ahead of the network, each mapped from the page cache
//! (Linux), so the socket write is its only copy, or read where mapping is not to be had.
//! Neither holds a blocking thread while the client is slow: each batch or chunk is its own `spawn_blocking`.

use super::paths::backend;
use crate::ports::storage::{ByteStream, StorageError};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Bytes gathered from the upload stream before they are written in one call.
const WRITE_BATCH: usize = 1024 * 1024;
/// Bytes of one download chunk (and one chunk of the response body).
const READ_CHUNK: usize = 1024 * 1024;
/// Download chunks at least this long are mapped rather than read (Linux): below it, a copy costs less than a mapping.
#[cfg(target_os = "linux")]
const MAP_AT_LEAST: usize = 256 * 1024;

fn task_failed(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("storage task failed: {e}"))
}

/// Writes `body` into `file` from its start and flushes it to disk (`fdatasync`); returns the bytes written. A
/// failing stream fails with `Upload`, a failing disk with `Backend`; either way no write is left running, and the
/// caller removes the file.
pub async fn write_synced(file: File, mut body: ByteStream) -> Result<u64, StorageError> {
    let mut writer = Writer {
        idle: Some(file),
        busy: None,
    };
    let mut batch: Vec<Bytes> = Vec::new();
    let (mut batched, mut size) = (0usize, 0u64);
    loop {
        let next = match body.next().await.transpose() {
            Ok(next) => next,
            Err(e) => {
                let _ = writer.file().await;
                return Err(StorageError::Upload(e.to_string()));
            }
        };
        let end = next.is_none();
        if let Some(chunk) = next.filter(|c| !c.is_empty()) {
            batched += chunk.len();
            size += chunk.len() as u64;
            batch.push(chunk);
        }
        if batched >= WRITE_BATCH || (end && batched > 0) {
            let file = writer.file().await?;
            let (bufs, at) = (std::mem::take(&mut batch), size - batched as u64);
            batched = 0;
            writer.busy = Some(tokio::task::spawn_blocking(move || {
                write_batch(file, &bufs, at)
            }));
        }
        if end {
            break;
        }
    }
    let file = writer.file().await?;
    tokio::task::spawn_blocking(move || file.sync_data())
        .await
        .map_err(task_failed)
        .and_then(|r| r)
        .map_err(backend)?;
    Ok(size)
}

/// The upload's file: idle, or inside the batch being written.
struct Writer {
    idle: Option<File>,
    busy: Option<JoinHandle<io::Result<File>>>,
}

impl Writer {
    /// The file once no write is running.
    async fn file(&mut self) -> Result<File, StorageError> {
        match self.busy.take() {
            Some(write) => write
                .await
                .map_err(task_failed)
                .and_then(|r| r)
                .map_err(backend),
            None => self
                .idle
                .take()
                .ok_or_else(|| backend(io::Error::other("the upload's file was lost"))),
        }
    }
}

/// Writes `bufs` whole at offset `at` (where the file's cursor is), then starts their writeback.
fn write_batch(mut file: File, bufs: &[Bytes], at: u64) -> io::Result<File> {
    let mut slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    let mut written = 0u64;
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                written += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    start_writeback(&file, at, written);
    Ok(file)
}

/// Asks the kernel to start writing `len` bytes at `at` to disk now, without waiting: a hint that spreads the
/// disk's work over the upload (the closing `fdatasync` is still what makes the bytes durable).
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, at: u64, len: u64) {
    use std::os::unix::io::AsRawFd;
    // SAFETY: a plain syscall on a file descriptor `file` keeps open; it reads no memory of ours.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            at as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _at: u64, _len: u64) {}

/// The `length` bytes of `file` from `start` as a stream of chunks. The first chunk is made at once, and each chunk
/// handed out starts the next. A file that ends early fails the stream (`UnexpectedEof`).
pub fn read_stream(file: File, start: u64, length: u64) -> ByteStream {
    struct Ahead {
        next: Option<JoinHandle<io::Result<Bytes>>>,
        file: Arc<File>,
        at: u64,
        end: u64,
    }
    impl Ahead {
        /// Starts making the next chunk, if any bytes are left.
        fn start_next(&mut self) {
            let want = (self.end - self.at).min(READ_CHUNK as u64) as usize;
            if want > 0 {
                let (file, at) = (self.file.clone(), self.at);
                self.at += want as u64;
                self.next = Some(tokio::task::spawn_blocking(move || chunk(&file, at, want)));
            }
        }
    }
    let mut ahead = Ahead {
        next: None,
        file: Arc::new(file),
        at: start,
        end: start.saturating_add(length),
    };
    ahead.start_next();
    Box::pin(futures::stream::unfold(ahead, |mut ahead| async move {
        let made = ahead
            .next
            .take()?
            .await
            .map_err(task_failed)
            .and_then(|r| r);
        match made {
            Ok(chunk) => {
                ahead.start_next();
                Some((Ok(chunk), ahead))
            }
            Err(e) => Some((Err(e), ahead)),
        }
    }))
}

/// The `want` bytes of `file` at `at`: mapped when the chunk is large enough and the kernel can populate a mapping,
/// else read.
fn chunk(file: &File, at: u64, want: usize) -> io::Result<Bytes> {
    #[cfg(target_os = "linux")]
    if want >= MAP_AT_LEAST {
        if let Some(mapped) = map_chunk(file, at, want)? {
            return Ok(mapped);
        }
    }
    read_chunk(file, at, want)
}

fn ended_early() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the object ended early")
}

/// The `want` bytes of `file` at `at` as a read-only mapping of their own, its pages made present now
/// (`MADV_POPULATE_READ`), so the socket write copies straight from the page cache and no read copies them first.
/// Populating reports, as an error, what touching the pages would have raised as `SIGBUS` (a file that ends before
/// them, a failing disk), and the file's size is checked after it. `None` where the file cannot be mapped or the
/// kernel cannot populate (before Linux 5.14): the caller reads instead. The chunk unmaps when its bytes are dropped.
///
/// Objects are never truncated in place (uploads are renamed into place), so a mapped chunk stays whole while it is
/// sent.
#[cfg(target_os = "linux")]
fn map_chunk(file: &File, at: u64, want: usize) -> io::Result<Option<Bytes>> {
    // SAFETY: a read-only mapping of a file nano never writes in place; its bytes are only read, and only
    // after populating them succeeded and the file was seen to hold them all.
    let map = match unsafe { memmap2::MmapOptions::new().offset(at).len(want).map(file) } {
        Ok(map) => map,
        Err(_) => return Ok(None),
    };
    match map.advise(memmap2::Advice::PopulateRead) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EFAULT) => return Err(ended_early()),
        Err(_) => return Ok(None),
    }
    if file.metadata()?.len() < at + want as u64 {
        return Err(ended_early());
    }
    Ok(Some(Bytes::from_owner(map)))
}

/// Reads the `want` bytes at `at`; a file that ends before them fails with `UnexpectedEof`.
fn read_chunk(file: &File, at: u64, want: usize) -> io::Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let mut buf = BytesMut::zeroed(want);
    let mut filled = 0;
    while filled < want {
        match file.read_at(&mut buf[filled..], at + filled as u64) {
            Ok(0) => return Err(ended_early()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf.freeze())
}

/// Flushes a directory's entries (a file renamed into it) to disk.
pub fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: Vec<Result<Bytes, io::Error>>) -> ByteStream {
        Box::pin(futures::stream::iter(parts))
    }

    #[tokio::test]
    async fn writes_batches_in_order_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let parts: Vec<Result<Bytes, io::Error>> = (0..300u32)
            .map(|i| Ok(Bytes::from(vec![(i % 251) as u8; 7_001 + i as usize])))
            .collect();
        let expected: Vec<u8> = parts
            .iter()
            .flat_map(|p| p.as_ref().unwrap().to_vec())
            .collect();
        let size = write_synced(File::create(&path).unwrap(), chunks(parts))
            .await
            .unwrap();
        assert_eq!(size, expected.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), expected);

        let got: Vec<Bytes> =
            read_stream(File::open(&path).unwrap(), 10, expected.len() as u64 - 20)
                .map(|c| c.unwrap())
                .collect()
                .await;
        assert!(got.len() > 1);
        assert_eq!(got.concat(), expected[10..expected.len() - 10]);
    }

    #[tokio::test]
    async fn large_chunks_read_back_whole_from_any_offset_and_a_short_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..3 * READ_CHUNK + 12_345)
            .map(|i| (i % 253) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        for start in [0, 1, 4096, 5_000] {
            let length = data.len() as u64 - start;
            let got: Vec<Bytes> = read_stream(File::open(&path).unwrap(), start, length)
                .map(|c| c.unwrap())
                .collect()
                .await;
            assert_eq!(got.len(), 4);
            assert_eq!(got.concat(), data[start as usize..]);
        }

        // The object claims two chunks more than the file holds: the stream fails where the file ends.
        let claimed = data.len() as u64 + 2 * READ_CHUNK as u64;
        let got: Vec<io::Result<Bytes>> = read_stream(File::open(&path).unwrap(), 0, claimed)
            .collect()
            .await;
        assert!(got[..3]
            .iter()
            .all(|c| c.as_ref().unwrap().len() == READ_CHUNK));
        assert_eq!(
            got[3].as_ref().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[tokio::test]
    async fn a_failing_stream_fails_the_write_and_a_short_file_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let parts = vec![
            Ok(Bytes::from(vec![1u8; 3 * WRITE_BATCH])),
            Err(io::Error::other("client went away")),
        ];
        let failed = write_synced(File::create(&path).unwrap(), chunks(parts)).await;
        assert!(matches!(failed, Err(StorageError::Upload(_))));

        std::fs::write(&path, b"short").unwrap();
        let got: Vec<io::Result<Bytes>> = read_stream(File::open(&path).unwrap(), 0, 10)
            .collect()
            .await;
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].as_ref().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
