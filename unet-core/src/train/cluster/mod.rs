//! Data-parallel training across processes and machines: one process per node, each training on
//! its share of every step's samples, their gradients summed over TCP before each optimizer
//! step, so every node holds the same weights after every step.
//!
//! Node 0 is the coordinator: it listens on the coordinator address, the other nodes connect to
//! it, and every exchange goes through it (it sums in node order and sends the sum back, so the
//! nodes receive the same bytes). Every read and write has a time limit, and a node that stops
//! closes its connection: a node that dies or never connects ends every process with an error
//! naming it, never a hang.
//!
//! burn-collective 0.21 was meant for this, but its global all-reduce cannot run a second time
//! (its peer set is cleared on a copy) and its global broadcast is unimplemented; this module is
//! the small part of it that the loop needs.

mod group;
mod params;

use std::time::Duration;

pub use group::Group;
pub(crate) use params::{
    bytes_fingerprint, flatten_grads, model_fingerprint, samples_fingerprint, unflatten_grads,
};

/// The coordinator port when a launcher gives `MASTER_ADDR` without `MASTER_PORT` (PyTorch's).
pub const DEFAULT_PORT: u16 = 29500;

/// How long a node waits for another before it gives up: for the others to join, and for any
/// exchange, including the coordinator's validation and checkpoint at the end of an epoch.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a group of nodes cannot form or went apart.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A setting is out of range.
    #[error("{setting} {value}: expected {expected}")]
    Setting {
        /// The setting: `nodes`, `rank`, `coordinator`, or an environment variable.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        expected: String,
    },
    /// The coordinator address does not resolve.
    #[error("coordinator {coordinator}: not an address")]
    Address {
        /// The address given.
        coordinator: String,
        /// Why it does not resolve.
        #[source]
        source: std::io::Error,
    },
    /// Node 0 cannot listen on the coordinator address.
    #[error("node 0 cannot listen on the coordinator address {coordinator}")]
    Listen {
        /// The address.
        coordinator: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A node could not reach the coordinator in time.
    #[error("node {rank} could not reach the coordinator {coordinator} within {seconds} s")]
    Connect {
        /// The node.
        rank: usize,
        /// The address.
        coordinator: String,
        /// The time limit.
        seconds: u64,
        /// The last attempt's error.
        #[source]
        source: std::io::Error,
    },
    /// Not every node joined in time.
    #[error("{joined} of {nodes} nodes joined the coordinator within {seconds} s")]
    Join {
        /// Nodes there, the coordinator included.
        joined: usize,
        /// Nodes expected.
        nodes: usize,
        /// The time limit.
        seconds: u64,
    },
    /// A node that joined does not belong to this group.
    #[error("node {rank} was refused: {reason}")]
    Refused {
        /// The node's rank as it said it.
        rank: usize,
        /// Why.
        reason: String,
    },
    /// A connection failed, closed, or went silent past the time limit.
    #[error("lost node {rank} while {during} (it stopped, or the network did)")]
    Lost {
        /// The node at the other end (0 for the coordinator).
        rank: usize,
        /// The exchange under way.
        during: &'static str,
        /// The connection's error.
        #[source]
        source: std::io::Error,
    },
    /// A node sent nothing within the time limit.
    #[error("node {rank} sent nothing for {seconds} s while {during}: it hangs, or the network does (the time limit is the `timeout` setting)")]
    Silent {
        /// The node at the other end (0 for the coordinator).
        rank: usize,
        /// The exchange under way.
        during: &'static str,
        /// The time limit.
        seconds: u64,
    },
    /// A node sent something other than what the exchange expects.
    #[error("node {rank} sent {found} bytes while {during}, expected {expected}")]
    Protocol {
        /// The node.
        rank: usize,
        /// The exchange.
        during: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        found: usize,
    },
    /// Nodes hold different values of what must be the same everywhere.
    #[error("node {rank}'s {what} differs from node 0's: every node must run the same command on the same data")]
    Mismatch {
        /// The first node that differs.
        rank: usize,
        /// What differs: the configuration, the training set, the weights.
        what: &'static str,
    },
    /// The state node 0 sent cannot be read.
    #[error("the {what} node 0 sent cannot be read: {message}")]
    Record {
        /// What was sent.
        what: &'static str,
        /// The decoder's message.
        message: String,
    },
}

/// Where a process stands in a group of nodes: `nodes` processes, this one `rank` (0 is the
/// coordinator, which alone writes the run folder), meeting at `coordinator` (`host:port`, where
/// node 0 listens).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    nodes: usize,
    rank: usize,
    coordinator: String,
    timeout: Duration,
}

impl Cluster {
    /// Node `rank` of `nodes`, meeting at `coordinator`, with [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// `nodes` is 0 or `rank` is not below it.
    pub fn new(
        nodes: usize,
        rank: usize,
        coordinator: impl Into<String>,
    ) -> Result<Self, ClusterError> {
        if nodes == 0 {
            return Err(ClusterError::Setting {
                setting: "nodes",
                value: "0".into(),
                expected: "at least 1".into(),
            });
        }
        if rank >= nodes {
            return Err(ClusterError::Setting {
                setting: "rank",
                value: rank.to_string(),
                expected: format!("below nodes ({nodes})"),
            });
        }
        Ok(Self {
            nodes,
            rank,
            coordinator: coordinator.into(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// How long to wait for another node, at most (at least a second).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_secs(1));
        self
    }

    /// The number of nodes.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// This node's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The coordinator's address.
    pub fn coordinator(&self) -> &str {
        &self.coordinator
    }

    /// The time limit of every wait.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Forms the group: node 0 listens and waits for the others; the others connect, trying
    /// again until the coordinator listens or the time limit passes.
    ///
    /// # Errors
    /// The group did not form within the time limit, or a node does not belong to it.
    pub fn connect(&self) -> Result<Group, ClusterError> {
        Group::connect(self)
    }
}

/// What a launcher says of the group through the environment: torchrun's `WORLD_SIZE`, `RANK`,
/// `MASTER_ADDR` and `MASTER_PORT`, or Slurm's `SLURM_NTASKS` and `SLURM_PROCID` (torchrun's win
/// where both are set). Each part is `None` where nothing sets it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Launch {
    /// The number of nodes.
    pub nodes: Option<usize>,
    /// This process's rank.
    pub rank: Option<usize>,
    /// `MASTER_ADDR:MASTER_PORT`.
    pub coordinator: Option<String>,
}

impl Launch {
    /// Reads the launcher's variables through `var` (`|name| std::env::var(name).ok()`).
    ///
    /// # Errors
    /// A variable that is set is not a number (or a port).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ClusterError> {
        let number = |name: &'static str| -> Result<Option<usize>, ClusterError> {
            var(name)
                .map(|text| {
                    text.trim().parse().map_err(|_| ClusterError::Setting {
                        setting: name,
                        value: text.clone(),
                        expected: "a whole number".into(),
                    })
                })
                .transpose()
        };
        let (nodes, rank) = match number("WORLD_SIZE")? {
            Some(nodes) => (Some(nodes), number("RANK")?),
            None => (number("SLURM_NTASKS")?, number("SLURM_PROCID")?),
        };
        let coordinator = match var("MASTER_ADDR") {
            Some(host) => {
                let port = match var("MASTER_PORT") {
                    Some(text) => {
                        text.trim()
                            .parse::<u16>()
                            .map_err(|_| ClusterError::Setting {
                                setting: "MASTER_PORT",
                                value: text.clone(),
                                expected: "a port number".into(),
                            })?
                    }
                    None => DEFAULT_PORT,
                };
                Some(format!("{}:{port}", host.trim()))
            }
            None => None,
        };
        Ok(Self {
            nodes,
            rank,
            coordinator,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn torchrun_variables_win_over_slurms_and_the_port_defaults_to_pytorchs() {
        let launch = Launch::from_env(env(&[
            ("WORLD_SIZE", "4"),
            ("RANK", "2"),
            ("SLURM_NTASKS", "8"),
            ("SLURM_PROCID", "5"),
            ("MASTER_ADDR", "node-a"),
        ]))
        .unwrap();
        assert_eq!(launch.nodes, Some(4));
        assert_eq!(launch.rank, Some(2));
        assert_eq!(launch.coordinator.as_deref(), Some("node-a:29500"));
    }

    #[test]
    fn slurm_variables_give_the_nodes_and_rank_alone() {
        let launch = Launch::from_env(env(&[("SLURM_NTASKS", "2"), ("SLURM_PROCID", "1")]));
        assert_eq!(
            launch.unwrap(),
            Launch {
                nodes: Some(2),
                rank: Some(1),
                coordinator: None
            }
        );
        assert_eq!(Launch::from_env(env(&[])).unwrap(), Launch::default());
    }

    #[test]
    fn a_variable_that_is_not_a_number_is_an_error_naming_it() {
        let error = Launch::from_env(env(&[("WORLD_SIZE", "two")])).unwrap_err();
        assert_eq!(error.to_string(), "WORLD_SIZE two: expected a whole number");
        let error =
            Launch::from_env(env(&[("MASTER_ADDR", "h"), ("MASTER_PORT", "70000")])).unwrap_err();
        assert!(
            error.to_string().starts_with("MASTER_PORT 70000"),
            "{error}"
        );
    }

    #[test]
    fn a_rank_outside_the_group_is_refused() {
        assert!(Cluster::new(2, 2, "127.0.0.1:1").is_err());
        assert!(Cluster::new(0, 0, "127.0.0.1:1").is_err());
        assert_eq!(Cluster::new(2, 1, "h:1").unwrap().rank(), 1);
    }
}
