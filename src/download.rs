//! Answers whose body is a file on disk (uploads, exports): read a piece at a time as the client
//! takes it, never held whole in memory. (Read whole, 100 clients asking a 10 MiB file and
//! reading nothing held ≈ 1 GB.) A client that reads nothing at all is let go by the listener's
//! write deadline (`write_deadline`).
use axum::body::Body;
use tokio_util::io::ReaderStream;

/// How much of a file is read at once.
const CHUNK: usize = 32 * 1024;

/// The body of the file at `path` and its length, read as it is sent.
pub async fn file(path: &std::path::Path) -> std::io::Result<(Body, u64)> {
    let file = tokio::fs::File::open(path).await?;
    let length = file.metadata().await?.len();
    Ok((Body::from_stream(ReaderStream::with_capacity(file, CHUNK)), length))
}

/// The body of `file` (one just written, such as a temporary file holding an export), from its
/// start, and its length.
pub async fn written(file: std::fs::File) -> std::io::Result<(Body, u64)> {
    let mut file = tokio::fs::File::from_std(file);
    use tokio::io::AsyncSeekExt;
    let length = file.seek(std::io::SeekFrom::End(0)).await?;
    file.seek(std::io::SeekFrom::Start(0)).await?;
    Ok((Body::from_stream(ReaderStream::with_capacity(file, CHUNK)), length))
}
