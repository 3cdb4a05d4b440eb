//! An import's file: where it is kept (S3, one object per import under the company's prefix), its
//! upload address, and its rows read as a stream — a CSV from a byte offset (a checkpoint is
//! always a record boundary, so a later invocation goes on from there), a workbook's first sheet
//! cell by cell from a scratch copy. Memory stays the size of one chunk and one row, however big
//! the file.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use keel_core::import::ImportFormat;
use keel_store::TenantKeys;

/// The longest row read (a CSV record or a sheet row): longer is no CRM export's row, but a file
/// that is not what it claims (an unterminated quote swallowing the rest).
pub const ROW_MAX_BYTES: usize = 64 * 1024;
/// Columns read of a row.
pub const COLUMNS_MAX: usize = 200;
/// What the preview reads of a CSV.
pub const HEAD_BYTES: usize = 64 * 1024;
/// How long an upload address works.
pub const UPLOAD_MINUTES: u64 = 15;

/// Where the company's file is kept: its tenant first, as every key.
pub fn object_key(keys: &TenantKeys, import_id: &str) -> String {
    format!("imports/{}/{import_id}", keys.tenant_id())
}

#[derive(Clone)]
pub struct Files {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

/// Why a file could not be read. The texts are for people (they never carry S3's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Nothing was uploaded (or it expired).
    Missing,
    /// The file breaks a rule: what, for the person who uploaded it.
    Unreadable(String),
    /// S3 did not answer as it should: try again.
    Unavailable(String),
}

impl FileError {
    fn s3<E: std::fmt::Debug>(e: E) -> FileError {
        tracing::warn!(error = ?e, "import file store call failed");
        FileError::Unavailable("The file store did not answer; try again.".into())
    }
}

/// A cell as read: its text, or why it cannot be a lead's field.
pub type Cell = Result<String, &'static str>;

/// One row of the file: its number (the header is row 1; a CSV's blank lines are no rows) and its
/// cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: u64,
    pub cells: Vec<Cell>,
    /// The byte offset just after the row (CSV), where a later reading starts.
    pub end: u64,
}

/// S3 answers 403, not 404, for a key that is not there when the caller may not list the bucket
/// (the functions may only read and write their objects): for these keys, both mean "no file".
fn forbidden(response: Option<&aws_sdk_s3::config::http::HttpResponse>) -> bool {
    response.is_some_and(|r| r.status().as_u16() == 403)
}

impl Files {
    pub fn from_env(s3: aws_sdk_s3::Client) -> Result<Files, String> {
        let bucket = std::env::var("KEEL_IMPORT_BUCKET").map_err(|_| "KEEL_IMPORT_BUCKET is not set".to_string())?;
        Ok(Files { s3, bucket })
    }

    /// A presigned PUT of exactly `size` bytes of `content_type`: the browser sends the file
    /// straight to S3, never through the API.
    pub async fn upload_url(
        &self,
        key: &str,
        size: u64,
        content_type: &str,
    ) -> Result<(String, Vec<(String, String)>), FileError> {
        let config = PresigningConfig::expires_in(Duration::from_secs(UPLOAD_MINUTES * 60)).map_err(FileError::s3)?;
        let request = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(size as i64)
            .content_type(content_type)
            .presigned(config)
            .await
            .map_err(FileError::s3)?;
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok((request.uri().to_string(), headers))
    }

    /// The uploaded file's size (1 HeadObject).
    pub async fn size(&self, key: &str) -> Result<u64, FileError> {
        match self.s3.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(head.content_length().unwrap_or(0).max(0) as u64),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) || forbidden(e.raw_response()) => {
                Err(FileError::Missing)
            }
            Err(e) => Err(FileError::s3(e)),
        }
    }

    /// The file from byte `offset` on, as a stream.
    pub async fn read_from(&self, key: &str, offset: u64) -> Result<ByteStream, FileError> {
        let result = self.s3.get_object().bucket(&self.bucket).key(key).range(format!("bytes={offset}-")).send().await;
        match result {
            Ok(out) => Ok(out.body),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) || forbidden(e.raw_response()) => {
                Err(FileError::Missing)
            }
            // A range starting at the end of the file: nothing is left.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => Ok(ByteStream::from_static(b"")),
            Err(e) => Err(FileError::s3(e)),
        }
    }

    /// The file's first `n` bytes (1 ranged GetObject).
    pub async fn head(&self, key: &str, n: usize) -> Result<Vec<u8>, FileError> {
        let result =
            self.s3.get_object().bucket(&self.bucket).key(key).range(format!("bytes=0-{}", n - 1)).send().await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) || forbidden(e.raw_response()) => {
                return Err(FileError::Missing)
            }
            Err(e) => return Err(FileError::s3(e)),
        };
        let bytes = out.body.collect().await.map_err(FileError::s3)?.into_bytes();
        Ok(bytes.to_vec())
    }

    /// Opens the rows of the file after a checkpoint: `offset` bytes read (a CSV), the last row
    /// taken being row `last_row` (the header is row 1; 0 before it). The header is never a row.
    pub async fn rows(
        &self,
        key: &str,
        format: ImportFormat,
        delimiter: u8,
        offset: u64,
        last_row: u64,
    ) -> Result<Rows, FileError> {
        match format {
            ImportFormat::Csv => {
                let body = self.read_from(key, offset).await?;
                let mut rows = CsvRows::new(body, delimiter, offset, last_row);
                if offset == 0 {
                    rows.next().await?; // the header
                }
                Ok(Rows::Csv(Box::new(rows)))
            }
            ImportFormat::Xlsx => Ok(Rows::Xlsx(SheetRows::open(self, key, last_row.max(1)).await?)),
        }
    }
}

/// The rows of an import's file, whichever its format.
pub enum Rows {
    Csv(Box<CsvRows>),
    Xlsx(SheetRows),
}

impl Rows {
    pub async fn next(&mut self) -> Result<Option<Row>, FileError> {
        match self {
            Rows::Csv(r) => r.next().await,
            Rows::Xlsx(r) => r.next().await,
        }
    }
}

/// CSV records from a byte stream, through `csv_core` (no allocation per record beyond its cells).
pub struct CsvRows {
    body: ByteStream,
    reader: csv_core::Reader,
    chunk: bytes::Bytes,
    /// How much of `chunk` was read.
    at: usize,
    /// The file offset of `chunk[0]`.
    chunk_offset: u64,
    ended: bool,
    record: Vec<u8>,
    ends: Vec<usize>,
    /// Records read so far, the header included.
    records: u64,
}

impl CsvRows {
    pub fn new(body: ByteStream, delimiter: u8, offset: u64, last_row: u64) -> CsvRows {
        CsvRows {
            body,
            reader: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            chunk: bytes::Bytes::new(),
            at: 0,
            chunk_offset: offset,
            ended: false,
            record: vec![0; 4096],
            ends: vec![0; 64],
            // Records are numbered as rows (blank lines too): the header is 1.
            records: if offset == 0 { 0 } else { last_row },
        }
    }

    pub async fn next(&mut self) -> Result<Option<Row>, FileError> {
        let (mut out, mut fields) = (0usize, 0usize);
        loop {
            if self.at == self.chunk.len() && !self.ended {
                match self.body.next().await {
                    Some(Ok(chunk)) => {
                        self.chunk_offset += self.chunk.len() as u64;
                        self.chunk = chunk;
                        self.at = 0;
                    }
                    Some(Err(e)) => return Err(FileError::s3(e)),
                    None => {
                        self.chunk_offset += self.chunk.len() as u64;
                        self.chunk = bytes::Bytes::new();
                        self.at = 0;
                        self.ended = true;
                    }
                }
            }
            let input = &self.chunk[self.at..];
            let (result, read, written, ended) =
                self.reader.read_record(input, &mut self.record[out..], &mut self.ends[fields..]);
            self.at += read;
            out += written;
            fields += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty => continue,
                csv_core::ReadRecordResult::OutputFull => {
                    if self.record.len() >= ROW_MAX_BYTES {
                        return Err(FileError::Unreadable(format!(
                            "Row {} is longer than 64 KB: the file is probably not a CSV of leads (an unclosed quote?).",
                            self.records + 1
                        )));
                    }
                    let grown = self.record.len() * 2;
                    self.record.resize(grown, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= COLUMNS_MAX {
                        return Err(FileError::Unreadable(format!(
                            "Row {} has more than {COLUMNS_MAX} columns.",
                            self.records + 1
                        )));
                    }
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.records += 1;
                    let end = self.chunk_offset + self.at as u64;
                    let cells = self.cells(fields);
                    // A blank line is no row.
                    if cells.len() == 1 && cells[0].as_deref().is_ok_and(|c| c.trim().is_empty()) {
                        (out, fields) = (0, 0);
                        continue;
                    }
                    return Ok(Some(Row { number: self.records, cells, end }));
                }
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
    }

    fn cells(&self, fields: usize) -> Vec<Cell> {
        let mut start = 0;
        let mut cells = Vec::with_capacity(fields);
        for (i, &end) in self.ends[..fields].iter().enumerate() {
            let raw = &self.record[start..end];
            let mut cell = std::str::from_utf8(raw).map(str::to_string).map_err(|_| "is not UTF-8 text");
            if self.records == 1 && i == 0 {
                cell = cell.map(|c| c.trim_start_matches('\u{feff}').to_string());
            }
            cells.push(cell);
            start = end;
        }
        cells
    }
}

/// The rows of a workbook's first sheet, read cell by cell on a blocking thread from a scratch
/// copy of the file and handed over a short channel (the sheet's shared strings are the only
/// thing held whole).
pub struct SheetRows {
    rows: tokio::sync::mpsc::Receiver<Result<Row, FileError>>,
}

impl SheetRows {
    /// The sheet's rows after its first `skip` (the header is row 1).
    async fn open(files: &Files, key: &str, skip: u64) -> Result<SheetRows, FileError> {
        let path = std::env::temp_dir().join(format!("keel-import-{}.xlsx", ulid::Ulid::new()));
        let mut body = files.read_from(key, 0).await?;
        let copied: Result<(), FileError> = async {
            use tokio::io::AsyncWriteExt;
            let mut file = tokio::fs::File::create(&path).await.map_err(FileError::s3)?;
            while let Some(chunk) = body.next().await {
                file.write_all(&chunk.map_err(FileError::s3)?).await.map_err(FileError::s3)?;
            }
            file.flush().await.map_err(FileError::s3)
        }
        .await;
        if let Err(e) = copied {
            // A scratch copy never outlives its reading: /tmp is shared by the instance's invocations.
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        tokio::task::spawn_blocking(move || {
            // A reader that panics must not look like the end of the sheet (the rest would be lost
            // without a word): it is the file's error, said like any other.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_sheet(&path, skip, &tx)))
                .unwrap_or_else(|_| Err(FileError::Unreadable("The workbook could not be read to its end.".into())));
            let _ = std::fs::remove_file(&path);
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(SheetRows { rows: rx })
    }

    async fn next(&mut self) -> Result<Option<Row>, FileError> {
        self.rows.recv().await.transpose()
    }
}

/// The most a workbook may hold unzipped: its text is read whole (the shared strings) by a
/// function of 512 MB at most, so a small file that unzips to much more is refused unread.
pub const UNZIPPED_MAX_BYTES: u64 = 64 * 1024 * 1024;

fn check_unzipped_size(path: &std::path::Path) -> Result<(), FileError> {
    let file = std::fs::File::open(path).map_err(FileError::s3)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(unreadable_workbook)?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        total = total.saturating_add(archive.by_index_raw(i).map_err(unreadable_workbook)?.size());
    }
    if total > UNZIPPED_MAX_BYTES {
        return Err(FileError::Unreadable(
            "The workbook unzips to more than 64 MB: save the list as CSV and import that.".into(),
        ));
    }
    Ok(())
}

fn unreadable_workbook<E: std::fmt::Debug>(e: E) -> FileError {
    tracing::info!(error = ?e, "workbook unreadable");
    FileError::Unreadable("The workbook could not be read: save it again from Excel as .xlsx.".into())
}

/// Sends each row after the first `skip` (the header is row 1), until the receiver hangs up.
fn read_sheet(
    path: &std::path::Path,
    skip: u64,
    tx: &tokio::sync::mpsc::Sender<Result<Row, FileError>>,
) -> Result<(), FileError> {
    use calamine::{DataRef, Reader};
    check_unzipped_size(path)?;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(unreadable_workbook)?;
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return Err(FileError::Unreadable("The workbook has no sheet.".into()));
    };
    let mut cells = book.worksheet_cells_reader(&sheet).map_err(unreadable_workbook)?;
    // Sheet rows are 0-based; the header is the first row the sheet has.
    let mut current: Option<(u32, Vec<Cell>)> = None;
    let mut first_row: Option<u32> = None;
    let flush =
        |row: u32, values: Vec<Cell>, first: u32| -> Option<Row> {
            let number = u64::from(row.saturating_sub(first)) + 1;
            (number > skip && values.iter().any(|c| c.as_deref().map_or(true, |v| !v.trim().is_empty())))
                .then_some(Row { number, cells: values, end: 0 })
        };
    loop {
        let cell = cells.next_cell().map_err(unreadable_workbook)?;
        let Some(cell) = cell else { break };
        let (row, col) = cell.get_position();
        let first = *first_row.get_or_insert(row);
        if row < first || current.as_ref().is_some_and(|(r, _)| row < *r) {
            return Err(FileError::Unreadable("The sheet's rows are out of order: save it again from Excel.".into()));
        }
        if current.as_ref().is_some_and(|(r, _)| *r != row) {
            let (r, values) = current.take().expect("checked");
            if let Some(done) = flush(r, values, first) {
                if tx.blocking_send(Ok(done)).is_err() {
                    return Ok(());
                }
            }
        }
        let (_, values) = current.get_or_insert_with(|| (row, Vec::new()));
        let col = col as usize;
        if col >= COLUMNS_MAX {
            let number = u64::from(row - first) + 1;
            return Err(FileError::Unreadable(format!("Row {number} has more than {COLUMNS_MAX} columns.")));
        }
        if values.len() <= col {
            values.resize(col + 1, Ok(String::new()));
        }
        values[col] = match cell.get_value() {
            DataRef::String(s) => Ok(s.clone()),
            DataRef::SharedString(s) => Ok(s.to_string()),
            DataRef::Int(i) => Ok(i.to_string()),
            // Whole numbers as a spreadsheet shows them (a phone typed as a number: 4915112345678).
            DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(format!("{}", *f as i64)),
            DataRef::Float(f) => Ok(f.to_string()),
            DataRef::Bool(_) => Err("is true/false in the sheet (not a text)"),
            DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
                Err("is a date or time in the sheet (not a text)")
            }
            DataRef::Error(_) => Err("holds a spreadsheet error (like #DIV/0!)"),
            DataRef::Empty => Ok(String::new()),
        };
    }
    if let (Some((r, values)), Some(first)) = (current.take(), first_row) {
        if let Some(done) = flush(r, values, first) {
            let _ = tx.blocking_send(Ok(done));
        }
    }
    Ok(())
}

/// The header and the first `n` data rows (the preview): a CSV from its start, a workbook from
/// its first sheet.
pub async fn sample(
    files: &Files,
    key: &str,
    format: ImportFormat,
    delimiter: u8,
    n: usize,
) -> Result<Vec<Row>, FileError> {
    let mut rows = match format {
        ImportFormat::Csv => Rows::Csv(Box::new(CsvRows::new(files.read_from(key, 0).await?, delimiter, 0, 0))),
        ImportFormat::Xlsx => Rows::Xlsx(SheetRows::open(files, key, 0).await?),
    };
    let mut out = Vec::new();
    while out.len() <= n {
        match rows.next().await? {
            Some(row) => out.push(row),
            None => break,
        }
    }
    Ok(out)
}
