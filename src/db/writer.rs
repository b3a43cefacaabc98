//! Group commit for SQLite: one thread owns the only writing connection and runs every write of
//! this process, as many as are waiting in one transaction, with one durable commit.
//!
//! SQLite takes one writer at a time. Writers on separate connections either sleep in SQLite's
//! busy handler (1 ms, 2 ms, 5 ms, … 100 ms back-off) or, queued on a lock, each pay a WAL sync of
//! their own (`synchronous = FULL`). Here each write runs in a savepoint of the batch's
//! transaction (its own failure rolls back only itself), and nobody hears back before the batch
//! is committed, so an answer never reports a write that a crash could still undo.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};

use anyhow::anyhow;
use diesel::Connection;

use super::AnyConnection;
use crate::error::Error;

/// Most writes one transaction takes: bounds how long the write lock is held.
const MAX_BATCH: usize = 256;

/// Hands a job's outcome to its caller once the batch's commit is known.
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut AnyConnection) -> Deliver + Send>;

/// The sending side; the thread ends when the last clone is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    /// Starts the writing thread on `conn`.
    pub fn start(conn: AnyConnection) -> Writer {
        let (jobs, queue) = channel::<Job>();
        std::thread::Builder::new()
            .name("idgate-sqlite-writer".into())
            .spawn(move || write_batches(conn, &queue))
            .expect("the system can start a thread");
        Writer { jobs }
    }

    /// Runs `f` in the next batch; answers after that batch is committed.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |conn| {
            // A savepoint: if `f` fails, only its own changes are rolled back.
            let outcome = span.in_scope(|| conn.transaction::<T, Error, _>(f));
            Box::new(move |committed: Result<(), String>| {
                let _ = reply.send(match committed {
                    Ok(()) => outcome,
                    Err(reason) => Err(Error::Unavailable(reason)),
                });
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal(anyhow!("the SQLite writer has stopped")))?;
        answer
            .await
            .map_err(|_| Error::Internal(anyhow!("a write panicked in the SQLite writer")))?
    }
}

fn write_batches(mut conn: AnyConnection, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut delivers = Vec::with_capacity(batch.len());
        let committed = conn.transaction::<(), Error, _>(|conn| {
            for job in batch {
                // A panicking job must not take the writer with it; its caller hears an error
                // when its reply is dropped, and the batch is rolled back to stay consistent.
                match catch_unwind(AssertUnwindSafe(|| job(conn))) {
                    Ok(deliver) => delivers.push(deliver),
                    Err(_) => return Err(Error::Internal(anyhow!("a write panicked"))),
                }
            }
            Ok(())
        });
        let committed = committed.map_err(|error| {
            tracing::error!(error = %error, "a batch of writes could not be committed");
            format!("database write failed: {error}")
        });
        for deliver in delivers {
            deliver(committed.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;

    use super::*;

    fn writer_on_temp_database() -> (tempfile::TempDir, String, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let mut conn = AnyConnection::establish(&url).unwrap();
        conn.batch_execute("CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap();
        (dir, url, Writer::start(conn))
    }

    fn insert(
        writer: &Writer,
        value: i32,
        then_fail: bool,
    ) -> std::thread::JoinHandle<Result<(), Error>> {
        let writer = writer.clone();
        std::thread::spawn(move || {
            crate::testing::block_on(writer.write(move |conn| {
                diesel::sql_query(format!("INSERT INTO t (v) VALUES ({value})")).execute(conn)?;
                if then_fail {
                    return Err(Error::NotFound("changed my mind".into()));
                }
                Ok(())
            }))
        })
    }

    #[test]
    fn one_failed_write_rolls_back_only_itself_and_the_batch_commits() {
        let (_dir, url, writer) = writer_on_temp_database();
        // Hold the writer so that the next writes queue up and share one batch.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = {
            let writer = writer.clone();
            std::thread::spawn(move || {
                crate::testing::block_on(writer.write(move |_| {
                    held.recv().unwrap();
                    Ok(())
                }))
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        let kept = insert(&writer, 1, false);
        let undone = insert(&writer, 2, true);
        let also_kept = insert(&writer, 3, false);
        std::thread::sleep(std::time::Duration::from_millis(50));
        release.send(()).unwrap();
        holder.join().unwrap().unwrap();
        kept.join().unwrap().unwrap();
        assert!(matches!(undone.join().unwrap(), Err(Error::NotFound(_))));
        also_kept.join().unwrap().unwrap();

        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            v: i32,
        }
        let mut reader = AnyConnection::establish(&url).unwrap();
        let mut values: Vec<i32> = diesel::sql_query("SELECT v FROM t")
            .load::<Row>(&mut reader)
            .unwrap()
            .into_iter()
            .map(|row| row.v)
            .collect();
        values.sort();
        assert_eq!(values, [1, 3]);
    }
}
