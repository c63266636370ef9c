//! The progress display of a run: a bar per epoch on a terminal, one line per epoch
//! elsewhere (logs, pipes, CI).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::events::{Event, Observer};

/// An [`Observer`] that shows a run's progress on standard output.
pub struct ProgressDisplay {
    epochs: usize,
    bar: Option<ProgressBar>,
    terminal: bool,
}

impl ProgressDisplay {
    /// A display for a run of at most `epochs` epochs; a bar only if standard output is a
    /// terminal.
    pub fn new(epochs: usize) -> Self {
        Self {
            epochs,
            bar: None,
            terminal: std::io::stdout().is_terminal(),
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
            Event::EpochStart { epoch, batches } if self.terminal => {
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
