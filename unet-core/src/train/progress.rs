//! The progress display of a run: a bar per epoch on a terminal; elsewhere (logs, pipes, CI)
//! a line per epoch and, within long epochs, a line per 10 seconds.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::events::{Event, Observer};

/// An [`Observer`] that shows a run's progress on standard output.
pub struct ProgressDisplay {
    epochs: usize,
    bar: Option<ProgressBar>,
    terminal: bool,
    batches: usize,
    last_line: Instant,
}

/// Between two progress lines within an epoch, off a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

impl ProgressDisplay {
    /// A display for a run of at most `epochs` epochs; a bar only if standard output is a
    /// terminal.
    pub fn new(epochs: usize) -> Self {
        Self {
            epochs,
            bar: None,
            terminal: std::io::stdout().is_terminal(),
            batches: 0,
            last_line: Instant::now(),
        }
    }

    fn of_epochs(&self) -> String {
        // A time budget sets a huge epoch limit; it is not worth showing.
        if self.epochs >= 1_000_000 {
            String::new()
        } else {
            format!("/{}", self.epochs)
        }
    }
}

impl Observer for ProgressDisplay {
    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::EpochStart { batches, .. } if !self.terminal => {
                self.batches = batches;
                self.last_line = Instant::now();
            }
            Event::Step {
                epoch,
                step,
                loss,
                lr,
            } if !self.terminal && self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                println!(
                    "epoch {epoch}{}: step {step}/{}, loss {loss:.4}, lr {lr:.3e}",
                    self.of_epochs(),
                    self.batches
                );
            }
            Event::EpochStart { epoch, batches } => {
                let bar = ProgressBar::new(batches as u64);
                let template = "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})";
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(format!("epoch {epoch}{}", self.of_epochs()));
                self.bar = Some(bar);
            }
            Event::Step { loss, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("loss {loss:.4}"));
                    bar.inc(1);
                }
            }
            Event::CheckpointSkipped { epoch, error } => {
                eprintln!(
                    "warning: skipping the checkpoint of epoch {epoch}: {}",
                    causes(error)
                );
            }
            Event::EpochEnd { row, best } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                println!(
                    "epoch {}{}: train loss {:.4}, valid loss {:.4}, Dice {:.4}, IoU {:.4}, pixel accuracy {:.4}{} ({:.0} s)",
                    row.epoch,
                    self.of_epochs(),
                    row.train_loss,
                    row.valid_loss,
                    row.dice,
                    row.iou,
                    row.pixel_accuracy,
                    if best { ", best" } else { "" },
                    row.seconds
                );
            }
            _ => {}
        }
    }
}

/// An error and its causes on one line, joined by `: `.
fn causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
