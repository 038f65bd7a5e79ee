//! Headless UI measurements with egui_kittest. A page is any state plus a function that draws
//! it into a `Ui`, so the window's pages plug in as they are (`|ui, app| app.draw(ui)`):
//!
//! - [`scroll_frames`]: CPU time per frame (egui's pass plus tessellation, as eframe does it
//!   before the GPU upload) while the mouse wheel scrolls the page one step per frame;
//! - [`idle_repaints`]: how many frames an idle window would paint, with eframe's rule: paint
//!   again when the last frame asked for it (at once or after a delay) or when anything calls
//!   `request_repaint`.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use egui::{Event, MouseWheelSource, MouseWheelUnit, TouchPhase, ViewportId, pos2, vec2};
use egui_kittest::Harness;
use serde::Serialize;

/// The window size pages are measured at, in points.
pub const WINDOW: egui::Vec2 = vec2(1280.0, 800.0);
/// How far one wheel step scrolls, in points.
const WHEEL_STEP: f32 = 120.0;

/// Frame times of one page, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct FrameStats {
    pub frames: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Draws `frames` frames of a page, each after one wheel step down over the window's centre,
/// once the page has `settled` (loaded what it shows; at most a minute).
pub fn scroll_frames<S>(
    state: S,
    draw: impl FnMut(&mut egui::Ui, &mut S),
    settled: impl Fn(&S) -> bool,
    frames: usize,
) -> FrameStats {
    let mut harness = Harness::builder().with_size(WINDOW).build_ui_state(draw, state);
    harness.hover_at(pos2(WINDOW.x / 2.0, WINDOW.y / 2.0));
    settle(&mut harness, settled);
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        harness.event(Event::MouseWheel {
            unit: MouseWheelUnit::Point,
            delta: vec2(0.0, -WHEEL_STEP),
            phase: TouchPhase::Move,
            source: MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        let started = Instant::now();
        harness.step();
        let pass = started.elapsed();
        let output = harness.output();
        let (shapes, pixels_per_point) = (output.shapes.clone(), output.pixels_per_point);
        let started = Instant::now();
        let primitives = harness.ctx.tessellate(shapes, pixels_per_point);
        times.push(pass + started.elapsed());
        drop(primitives);
    }
    summarize(times)
}

/// Steps the page until it has loaded what it shows and no longer asks for the next frame
/// straight away (a table re-laid out for its rows asks once more); at most a minute.
fn settle<S>(harness: &mut Harness<'_, S>, settled: impl Fn(&S) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        harness.step();
        let delay = harness.output().viewport_output.get(&ViewportId::ROOT).map(|v| v.repaint_delay);
        let asks_again = delay.is_some_and(|d| d < Duration::from_millis(100));
        if settled(harness.state()) && !asks_again {
            return;
        }
        assert!(Instant::now() < deadline, "the page did not load its data within a minute");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn summarize(mut times: Vec<Duration>) -> FrameStats {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| times.get(((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1).copied();
    FrameStats {
        frames: times.len(),
        mean_ms: ms(times.iter().sum::<Duration>()) / times.len().max(1) as f64,
        p50_ms: at(0.50).map_or(f64::NAN, ms),
        p99_ms: at(0.99).map_or(f64::NAN, ms),
        max_ms: times.last().copied().map_or(f64::NAN, ms),
    }
}

/// Frames an idle window painted.
#[derive(Debug, Clone, Serialize)]
pub struct IdleStats {
    pub repaints: usize,
    pub seconds: f64,
}

/// The next moment a repaint is due, set by egui's repaint callback and by each frame's output.
#[derive(Default)]
struct Wake {
    due: Mutex<Option<Instant>>,
    changed: Condvar,
}

impl Wake {
    fn at(&self, when: Instant) {
        let mut due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        if due.is_none_or(|current| when < current) {
            *due = Some(when);
        }
        self.changed.notify_all();
    }
}

/// Lets a page settle (load what it shows), runs `setup` (what the window wires to the
/// context, such as repaint on data changes), then counts the frames painted over `idle`
/// with no input at all.
pub fn idle_repaints<S>(
    state: S,
    draw: impl FnMut(&mut egui::Ui, &mut S),
    settled: impl Fn(&S) -> bool,
    setup: impl FnOnce(&egui::Context),
    idle: Duration,
) -> IdleStats {
    let mut harness = Harness::builder().with_size(WINDOW).build_ui_state(draw, state);
    settle(&mut harness, settled);
    let wake = Arc::new(Wake::default());
    let callback_wake = wake.clone();
    harness.ctx.set_request_repaint_callback(move |info| callback_wake.at(Instant::now() + info.delay));
    setup(&harness.ctx);
    let started = Instant::now();
    let end = started + idle;
    let mut repaints = 0;
    schedule_next(&harness, &wake);
    loop {
        let mut due = wake.due.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now >= end {
            break;
        }
        match *due {
            Some(when) if when <= now => {
                *due = None;
                drop(due);
                harness.step();
                repaints += 1;
                schedule_next(&harness, &wake);
            }
            Some(when) => drop(wake.changed.wait_timeout(due, when.min(end) - now)),
            None => drop(wake.changed.wait_timeout(due, end - now)),
        }
    }
    IdleStats { repaints, seconds: started.elapsed().as_secs_f64() }
}

/// The repaint the last frame asked for, if any.
fn schedule_next<S>(harness: &Harness<'_, S>, wake: &Wake) {
    let delay = harness.output().viewport_output.get(&ViewportId::ROOT).map(|v| v.repaint_delay);
    if let Some(delay) = delay.filter(|d| *d < Duration::MAX) {
        wake.at(Instant::now() + delay);
    }
}
