//! What makes several instances on one PostgreSQL database behave as one, off every request's
//! path: change notifications (`LISTEN codexmanager` on a connection of its own, reconnected
//! with a resync after an outage, since notifications sent meanwhile are lost), a census of
//! the live instances (each listener connection is one), and the leader lock (a session
//! advisory lock on another connection of its own, released by the server when the holder's
//! connection dies).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use super::super::Change;
use super::Postgres;

/// The channel every change is announced on.
pub(super) const CHANNEL: &str = "codexmanager";
/// The application name of every instance's listener connection: the census counts them.
const LISTENER_NAME: &str = "codexmanager-instance";
/// The advisory lock key of the leader ("cmgr-led" as a number).
const LEADER_LOCK: i64 = 0x636d_6772_2d6c_6564;
/// How often a follower tries the leader lock; a dead leader is replaced within this (plus
/// the moment the server takes to notice the dead connection).
const LEADER_RETRY: Duration = Duration::from_secs(2);
const RECONNECT: Duration = Duration::from_secs(1);
const CENSUS: Duration = Duration::from_secs(5);

/// The payload of a change made by `origin`: `<origin> <kind> <detail>`.
pub(super) fn payload(origin: &str, change: &Change) -> String {
    match change {
        Change::Accounts => format!("{origin} accounts"),
        Change::Keys => format!("{origin} keys"),
        Change::Settings => format!("{origin} settings"),
        Change::Models => format!("{origin} models"),
        Change::Stats => format!("{origin} stats"),
        Change::Resync => format!("{origin} resync"),
        Change::Usage(ids) => format!("{origin} usage {}", ids.join(",")),
        Change::Cooldown { account_id, until_secs, reason } => {
            format!("{origin} cooldown {account_id} {} {}", until_secs.unwrap_or(0), reason.as_deref().unwrap_or(""))
        }
    }
}

/// A payload back as a change; `None` for this instance's own changes (already applied) and
/// for what it does not understand.
pub(super) fn parse(payload: &str, own_origin: &str) -> Option<Change> {
    let (origin, rest) = payload.split_once(' ')?;
    let (kind, detail) = rest.split_once(' ').unwrap_or((rest, ""));
    if origin == own_origin && kind != "stats" {
        return None;
    }
    Some(match kind {
        "accounts" => Change::Accounts,
        "keys" => Change::Keys,
        "settings" => Change::Settings,
        "models" => Change::Models,
        "stats" => Change::Stats,
        "resync" => Change::Resync,
        "usage" => Change::Usage(detail.split(',').filter(|id| !id.is_empty()).map(str::to_string).collect()),
        "cooldown" => {
            let mut parts = detail.splitn(3, ' ');
            let account_id = parts.next()?.to_string();
            let until: i64 = parts.next()?.parse().ok()?;
            let reason = parts.next().filter(|r| !r.is_empty()).map(str::to_string);
            Change::Cooldown { account_id, until_secs: (until > 0).then_some(until), reason }
        }
        _ => return None,
    })
}

impl Postgres {
    /// The changes other instances make, as they commit; a [`Change::Resync`] each time the
    /// listener (re)connects, for what was committed before it listened. Also keeps the census of live instances current.
    pub(in super::super) fn listen(&self) -> mpsc::UnboundedReceiver<Change> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (config, origin, instances) = (self.config.clone(), self.origin.clone(), self.instances.clone());
        tokio::spawn(async move {
            loop {
                match listen_once(&config, &origin, &instances, &tx).await {
                    Ok(()) => return,
                    Err(err) => {
                        tracing::warn!("the PostgreSQL change listener lost its connection ({err}); reconnecting")
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(RECONNECT) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        rx
    }

    /// True while this instance holds the leader lock: the one instance that runs the usage
    /// poller, the token keeper and log pruning.
    pub(in super::super) fn leadership(&self) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let config = self.config.clone();
        tokio::spawn(async move {
            loop {
                if let Err(err) = lead_once(&config, &tx).await {
                    tracing::warn!("the PostgreSQL leader connection failed ({err}); trying again");
                }
                tx.send_if_modified(|held| std::mem::replace(held, false));
                tokio::select! {
                    _ = tokio::time::sleep(RECONNECT) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        rx
    }

    /// Instances connected to this database now (at least this one).
    pub(in super::super) fn instances(&self) -> u32 {
        self.instances.load(Ordering::Relaxed).max(1)
    }
}

/// One listener connection's life; `Ok` when nobody listens any more.
async fn listen_once(
    config: &tokio_postgres::Config,
    origin: &str,
    instances: &AtomicU32,
    tx: &mpsc::UnboundedSender<Change>,
) -> Result<(), String> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(|err| super::describe(&err))?;
    let (payloads_tx, mut payloads) = mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(note) = message
                && payloads_tx.send(note.payload().to_string()).is_err()
            {
                break;
            }
        }
    });
    let result = async {
        client
            .batch_execute(&format!("SET application_name = '{LISTENER_NAME}'; LISTEN {CHANNEL}"))
            .await
            .map_err(|err| super::describe(&err))?;
        // Whatever was committed before LISTEN took effect (while connecting, or since the
        // connection was lost) was announced to nobody here: read everything once more.
        if tx.send(Change::Resync).is_err() {
            return Ok(());
        }
        let mut census = tokio::time::interval(CENSUS);
        loop {
            tokio::select! {
                payload = payloads.recv() => match payload {
                    Some(payload) => {
                        if let Some(change) = parse(&payload, origin)
                            && tx.send(change).is_err()
                        {
                            return Ok(());
                        }
                    }
                    None => return Err("the connection closed".to_string()),
                },
                _ = census.tick() => {
                    let row = client
                        .query_one(
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
                            &[&LISTENER_NAME],
                        )
                        .await
                        .map_err(|err| super::describe(&err))?;
                    let count: i64 = row.try_get(0).map_err(|err| super::describe(&err))?;
                    instances.store(u32::try_from(count).unwrap_or(u32::MAX), Ordering::Relaxed);
                }
                _ = tx.closed() => return Ok(()),
            }
        }
    }
    .await;
    driver.abort();
    result
}

/// One leader connection's life: tries the lock until it has it, then holds it while the
/// connection answers.
async fn lead_once(config: &tokio_postgres::Config, held: &watch::Sender<bool>) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let result = async {
        loop {
            if *held.borrow() {
                client.simple_query("SELECT 1").await?;
            } else {
                let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK]).await?;
                if row.try_get::<_, bool>(0)? {
                    tracing::info!("this instance leads: it runs the usage poller, the token keeper and log pruning");
                    held.send_replace(true);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(LEADER_RETRY) => {}
                _ = held.closed() => return Ok(()),
            }
        }
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_and_own_ones_are_dropped() {
        let cooldown =
            Change::Cooldown { account_id: "a1".into(), until_secs: Some(99), reason: Some("rate limited".into()) };
        for change in [Change::Accounts, Change::Usage(vec!["a1".into(), "a2".into()]), cooldown] {
            assert_eq!(parse(&payload("other", &change), "me"), Some(change.clone()));
            assert_eq!(parse(&payload("me", &change), "me"), None);
        }
        assert_eq!(parse(&payload("me", &Change::Stats), "me"), Some(Change::Stats), "totals count everyone's");
    }
}
