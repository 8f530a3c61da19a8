//! Live views as Server-Sent Events (design.md, Live updates): one loop for every live view —
//! send a snapshot at once, then again on each change of a watched value and, when the view
//! asks for it, on a clock tick; bursts of changes are coalesced.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

/// What to send next: the value, and how long to wait at most for a change before sending
/// again (`None`: only on a change).
pub struct Frame<T> {
    pub value: T,
    pub tick: Option<Duration>,
}

/// Sends `snapshot()` as event `name` now and after every change of `changes` (or tick, as the
/// frame asks), at most once per `settle`. The stream ends when `snapshot` returns `None`, or
/// when nothing can change any more (the watched sender is gone and the frame has no tick).
pub fn live<T, W>(
    name: &'static str,
    mut changes: Option<watch::Receiver<W>>,
    settle: Duration,
    mut snapshot: impl FnMut() -> Option<Frame<T>> + Send + 'static,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    T: Serialize + Send + 'static,
    W: Send + Sync + 'static,
{
    let stream = async_stream::stream! {
        while let Some(Frame { value, tick }) = snapshot() {
            let json = serde_json::to_string(&value).unwrap_or_default();
            drop(value);
            yield Ok(Event::default().event(name).data(json));
            let ended = match (changes.as_mut(), tick) {
                (Some(rx), Some(tick)) => tokio::select! {
                    result = rx.changed() => result.is_err(),
                    () = tokio::time::sleep(tick) => false,
                },
                (Some(rx), None) => rx.changed().await.is_err(),
                (None, Some(tick)) => {
                    tokio::time::sleep(tick).await;
                    false
                }
                (None, None) => true,
            };
            if ended {
                break;
            }
            tokio::time::sleep(settle).await;
        }
    };
    Sse::new(stream).keep_alive(KeepAlive::default())
}
