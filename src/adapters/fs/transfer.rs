//! Object bytes between a stream and a file at the speed of the disk. An upload is written a batch of received
//! chunks at a time (one `writev` of the chunks as they came, no copy) on a blocking thread while the next batch
//! arrives, and the kernel is told to start writing each batch back at once, so the closing `fdatasync` finds
//! little left to do. A download reads large chunks straight into `Bytes`, one chunk ahead of the network.
//! Neither holds a blocking thread while the client is slow: each batch or chunk is its own `spawn_blocking`.

use super::paths::backend;
use crate::ports::storage::{ByteStream, StorageError};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use tokio::task::JoinHandle;

/// Bytes gathered from the upload stream before they are written in one call.
const WRITE_BATCH: usize = 1024 * 1024;
/// Bytes of one download read (and one chunk of the response body).
const READ_CHUNK: usize = 1024 * 1024;

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

/// The next `length` bytes of `file` (from its cursor) as a stream of chunks. The first read starts at once, and
/// each chunk handed out starts the read of the next. A file that ends early fails the stream (`UnexpectedEof`).
pub fn read_stream(file: File, length: u64) -> ByteStream {
    struct Ahead {
        read: Option<JoinHandle<io::Result<(File, Bytes)>>>,
        left: u64,
    }
    fn start(file: File, left: u64) -> JoinHandle<io::Result<(File, Bytes)>> {
        let want = left.min(READ_CHUNK as u64) as usize;
        tokio::task::spawn_blocking(move || read_chunk(file, want))
    }
    let ahead = Ahead {
        read: (length > 0).then(|| start(file, length)),
        left: length,
    };
    Box::pin(futures::stream::unfold(ahead, |mut ahead| async move {
        let read = ahead.read.take()?;
        let (file, chunk) = match read.await.map_err(task_failed).and_then(|r| r) {
            Ok(got) => got,
            Err(e) => return Some((Err(e), ahead)),
        };
        if chunk.is_empty() {
            let e = io::Error::new(io::ErrorKind::UnexpectedEof, "the object ended early");
            return Some((Err(e), ahead));
        }
        ahead.left = ahead.left.saturating_sub(chunk.len() as u64);
        if ahead.left > 0 {
            ahead.read = Some(start(file, ahead.left));
        }
        Some((Ok(chunk), ahead))
    }))
}

/// Reads up to `want` bytes (fewer only at the end of the file).
fn read_chunk(mut file: File, want: usize) -> io::Result<(File, Bytes)> {
    let mut buf = BytesMut::zeroed(want);
    let mut filled = 0;
    while filled < want {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok((file, buf.freeze()))
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

        let mut file = File::open(&path).unwrap();
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(10)).unwrap();
        let got: Vec<Bytes> = read_stream(file, expected.len() as u64 - 20)
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert!(got.len() > 1);
        assert_eq!(got.concat(), expected[10..expected.len() - 10]);
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
        let got: Vec<io::Result<Bytes>> =
            read_stream(File::open(&path).unwrap(), 10).collect().await;
        assert_eq!(got[0].as_ref().unwrap().as_ref(), b"short");
        assert_eq!(
            got[1].as_ref().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
