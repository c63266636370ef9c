//! The connections of a group of nodes, and the three exchanges the loop needs: node 0's bytes
//! to every node, a sum every node receives alike, and a check that every node holds the same
//! value.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::{Cluster, ClusterError};

/// The first bytes a node sends: the protocol and its version.
const HELLO: &[u8; 8] = b"unet-dp1";
/// The pause between two attempts to reach a coordinator that is not listening yet.
const RETRY: Duration = Duration::from_millis(200);

/// A formed group of nodes (see [`Cluster::connect`]). Every exchange is collective: each node
/// calls the same methods in the same order.
#[derive(Debug)]
pub struct Group {
    rank: usize,
    nodes: usize,
    timeout: Duration,
    links: Links,
}

#[derive(Debug)]
enum Links {
    /// Node 0: a connection to each other node, by rank (rank 1 first).
    Coordinator(Vec<TcpStream>),
    /// Any other node: its connection to node 0.
    Member(TcpStream),
}

impl Group {
    pub(super) fn connect(cluster: &Cluster) -> Result<Self, ClusterError> {
        let links = if cluster.rank == 0 {
            Links::Coordinator(gather(cluster)?)
        } else {
            Links::Member(join(cluster)?)
        };
        Ok(Self {
            rank: cluster.rank,
            nodes: cluster.nodes,
            timeout: cluster.timeout,
            links,
        })
    }

    /// This node's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of nodes.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Node 0's `bytes`, on every node (the others' `bytes` are not read).
    ///
    /// # Errors
    /// A connection failed or went silent past the time limit.
    pub fn broadcast(&mut self, bytes: Vec<u8>) -> Result<Vec<u8>, ClusterError> {
        const DURING: &str = "receiving node 0's state";
        let timeout = self.timeout;
        match &mut self.links {
            Links::Coordinator(links) => {
                for (i, link) in links.iter_mut().enumerate() {
                    send(link, &bytes).map_err(lost(i + 1, DURING, timeout))?;
                }
                Ok(bytes)
            }
            Links::Member(link) => receive(link).map_err(lost(0, DURING, timeout)),
        }
    }

    /// Replaces `values` with their sum over the nodes, added in rank order on node 0: every
    /// node receives the same bits.
    ///
    /// # Errors
    /// A connection failed, or a node sent another number of values.
    pub fn sum(&mut self, values: &mut [f32]) -> Result<(), ClusterError> {
        const DURING: &str = "summing gradients";
        let timeout = self.timeout;
        match &mut self.links {
            Links::Coordinator(links) => {
                for (i, link) in links.iter_mut().enumerate() {
                    let bytes = receive(link).map_err(lost(i + 1, DURING, timeout))?;
                    let theirs = floats(&bytes, values.len(), i + 1, DURING)?;
                    values.iter_mut().zip(theirs).for_each(|(v, x)| *v += x);
                }
                let bytes = to_bytes(values);
                for (i, link) in links.iter_mut().enumerate() {
                    send(link, &bytes).map_err(lost(i + 1, DURING, timeout))?;
                }
                Ok(())
            }
            Links::Member(link) => {
                send(link, &to_bytes(values)).map_err(lost(0, DURING, timeout))?;
                let bytes = receive(link).map_err(lost(0, DURING, timeout))?;
                let sums = floats(&bytes, values.len(), 0, DURING)?;
                values.iter_mut().zip(sums).for_each(|(v, x)| *v = x);
                Ok(())
            }
        }
    }

    /// Checks that every node holds the same `value` of `what` (a fingerprint); every node
    /// returns the same verdict.
    ///
    /// # Errors
    /// [`ClusterError::Mismatch`] naming the first node that differs, or a failed connection.
    pub fn agree(&mut self, what: &'static str, value: u64) -> Result<(), ClusterError> {
        const DURING: &str = "comparing the nodes";
        let timeout = self.timeout;
        let differs = match &mut self.links {
            Links::Coordinator(links) => {
                let mut differs = 0;
                for (i, link) in links.iter_mut().enumerate() {
                    let theirs = receive(link).map_err(lost(i + 1, DURING, timeout))?;
                    if differs == 0 && theirs != value.to_le_bytes() {
                        differs = i + 1;
                    }
                }
                for (i, link) in links.iter_mut().enumerate() {
                    send(link, &(differs as u64).to_le_bytes()).map_err(lost(
                        i + 1,
                        DURING,
                        timeout,
                    ))?;
                }
                differs
            }
            Links::Member(link) => {
                send(link, &value.to_le_bytes()).map_err(lost(0, DURING, timeout))?;
                let verdict = receive(link).map_err(lost(0, DURING, timeout))?;
                let verdict: [u8; 8] =
                    verdict
                        .as_slice()
                        .try_into()
                        .map_err(|_| ClusterError::Protocol {
                            rank: 0,
                            during: DURING,
                            expected: 8,
                            found: verdict.len(),
                        })?;
                usize::try_from(u64::from_le_bytes(verdict)).unwrap_or(usize::MAX)
            }
        };
        match differs {
            0 => Ok(()),
            rank => Err(ClusterError::Mismatch { rank, what }),
        }
    }
}

/// `ClusterError::Lost` for node `rank`.
/// A read or write that timed out is [`ClusterError::Silent`].
fn lost(
    rank: usize,
    during: &'static str,
    timeout: Duration,
) -> impl FnOnce(io::Error) -> ClusterError {
    move |source| match source.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClusterError::Silent {
            rank,
            during,
            seconds: timeout.as_secs(),
        },
        _ => ClusterError::Lost {
            rank,
            during,
            source,
        },
    }
}

fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The `count` values node `rank` sent in `bytes` ([`to_bytes`]), or the error that it sent
/// another number.
fn floats<'b>(
    bytes: &'b [u8],
    count: usize,
    rank: usize,
    during: &'static str,
) -> Result<impl Iterator<Item = f32> + 'b, ClusterError> {
    if bytes.len() != count * 4 {
        return Err(ClusterError::Protocol {
            rank,
            during,
            expected: count * 4,
            found: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
}

/// Writes one frame: its length, then its bytes.
fn send(link: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    link.write_all(&(bytes.len() as u64).to_le_bytes())?;
    link.write_all(bytes)?;
    link.flush()
}

/// Reads one frame. The buffer grows with what arrives, so a garbled length cannot ask for
/// more memory than the bytes sent.
fn receive(link: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut length = [0u8; 8];
    link.read_exact(&mut length)?;
    let length = u64::from_le_bytes(length);
    let mut bytes = Vec::new();
    Read::by_ref(link).take(length).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != length {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed in the middle of a message",
        ));
    }
    Ok(bytes)
}

/// Sets the time limits of a connection's reads and writes, and sends small messages at once.
fn limited(link: &TcpStream, timeout: Duration) -> io::Result<()> {
    link.set_read_timeout(Some(timeout))?;
    link.set_write_timeout(Some(timeout))?;
    link.set_nodelay(true)
}

/// Node 0: listens on the coordinator address until every other node has joined.
fn gather(cluster: &Cluster) -> Result<Vec<TcpStream>, ClusterError> {
    let listener =
        TcpListener::bind(&cluster.coordinator).map_err(|source| ClusterError::Listen {
            coordinator: cluster.coordinator.clone(),
            source,
        })?;
    let deadline = Instant::now() + cluster.timeout;
    let mut links: Vec<Option<TcpStream>> = (1..cluster.nodes).map(|_| None).collect();
    let mut joined = 1;
    while joined < cluster.nodes {
        let Some(mut link) =
            accept_before(&listener, deadline).map_err(|source| ClusterError::Listen {
                coordinator: cluster.coordinator.clone(),
                source,
            })?
        else {
            return Err(ClusterError::Join {
                joined,
                nodes: cluster.nodes,
                seconds: cluster.timeout.as_secs(),
            });
        };
        limited(&link, cluster.timeout).map_err(lost(joined, "joining", cluster.timeout))?;
        let (rank, refusal) = hello(&mut link, cluster, &links)?;
        if let Some(reason) = refusal {
            // The node learns why before node 0 ends; a failed send changes nothing.
            let _ = send(&mut link, reason.as_bytes());
            return Err(ClusterError::Refused { rank, reason });
        }
        send(&mut link, &[]).map_err(lost(rank, "joining", cluster.timeout))?;
        links[rank - 1] = Some(link);
        joined += 1;
    }
    Ok(links.into_iter().flatten().collect())
}

/// Reads a joining node's hello: its rank, and why it is refused, if it is.
fn hello(
    link: &mut TcpStream,
    cluster: &Cluster,
    links: &[Option<TcpStream>],
) -> Result<(usize, Option<String>), ClusterError> {
    let bytes = receive(link).map_err(lost(usize::MAX, "joining", cluster.timeout))?;
    if bytes.len() != 24 || &bytes[..8] != HELLO {
        return Err(ClusterError::Refused {
            rank: usize::MAX,
            reason: "it does not speak this protocol (another program, or another version)".into(),
        });
    }
    let number = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        usize::try_from(u64::from_le_bytes(word)).unwrap_or(usize::MAX)
    };
    let (rank, nodes) = (number(8), number(16));
    let refusal = if nodes != cluster.nodes {
        Some(format!(
            "it was started for {nodes} nodes, node 0 for {}",
            cluster.nodes
        ))
    } else if rank == 0 || rank >= cluster.nodes {
        Some(format!("rank {rank} is not one of 1..{}", cluster.nodes))
    } else if links[rank - 1].is_some() {
        Some(format!("another node already joined as rank {rank}"))
    } else {
        None
    };
    Ok((rank, refusal))
}

/// Any other node: connects to node 0 (again until the time limit while it is not listening
/// yet) and says hello.
fn join(cluster: &Cluster) -> Result<TcpStream, ClusterError> {
    let deadline = Instant::now() + cluster.timeout;
    let failed = |source| ClusterError::Connect {
        rank: cluster.rank,
        coordinator: cluster.coordinator.clone(),
        seconds: cluster.timeout.as_secs(),
        source,
    };
    let addresses: Vec<_> = cluster
        .coordinator
        .to_socket_addrs()
        .map_err(|source| ClusterError::Address {
            coordinator: cluster.coordinator.clone(),
            source,
        })?
        .collect();
    let mut link = loop {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
        let mut connected = None;
        for address in &addresses {
            let left = deadline.saturating_duration_since(Instant::now());
            match TcpStream::connect_timeout(address, left.max(Duration::from_millis(1))) {
                Ok(link) => {
                    connected = Some(link);
                    break;
                }
                Err(error) => last = error,
            }
        }
        match connected {
            Some(link) => break link,
            None if Instant::now() + RETRY < deadline => std::thread::sleep(RETRY),
            None => return Err(failed(last)),
        }
    };
    limited(&link, cluster.timeout).map_err(failed)?;
    let mut hello = HELLO.to_vec();
    hello.extend((cluster.rank as u64).to_le_bytes());
    hello.extend((cluster.nodes as u64).to_le_bytes());
    send(&mut link, &hello).map_err(lost(0, "joining", cluster.timeout))?;
    let answer = receive(&mut link).map_err(lost(0, "joining", cluster.timeout))?;
    if !answer.is_empty() {
        return Err(ClusterError::Refused {
            rank: cluster.rank,
            reason: String::from_utf8_lossy(&answer).into_owned(),
        });
    }
    Ok(link)
}

/// The next connection, or `None` once `deadline` passes. Waits in `poll(2)`: std's `accept`
/// has no time limit.
fn accept_before(listener: &TcpListener, deadline: Instant) -> io::Result<Option<TcpStream>> {
    listener.set_nonblocking(true)?;
    loop {
        match listener.accept() {
            Ok((link, _)) => {
                link.set_nonblocking(false)?;
                return Ok(Some(link));
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                wait_readable(listener, left)?;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Blocks until `listener` has a connection waiting or `limit` passes.
#[cfg(unix)]
fn wait_readable(listener: &TcpListener, limit: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = limit.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: `fd` is one valid pollfd that lives across the call, and the count says one.
    let ready = unsafe { libc::poll(&mut fd, 1, millis) };
    if ready < 0 {
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok(())
}

/// Blocks until `listener` may have a connection waiting or `limit` passes: without `poll(2)`,
/// a short pause between attempts.
#[cfg(not(unix))]
fn wait_readable(_listener: &TcpListener, limit: Duration) -> io::Result<()> {
    std::thread::sleep(limit.min(Duration::from_millis(50)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A free loopback address: bound, read, released.
    fn free_address() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    }

    /// Runs `work` as each of `nodes` nodes on threads; each node's result.
    fn as_nodes<T: Send + 'static>(
        nodes: usize,
        work: impl Fn(&mut Group) -> Result<T, ClusterError> + Send + Sync + Clone + 'static,
    ) -> Vec<Result<T, ClusterError>> {
        within(nodes, [10; 3], work)
    }

    /// [`as_nodes`] with a time limit of `seconds[rank]` for each node.
    fn within<T: Send + 'static>(
        nodes: usize,
        seconds: [u64; 3],
        work: impl Fn(&mut Group) -> Result<T, ClusterError> + Send + Sync + Clone + 'static,
    ) -> Vec<Result<T, ClusterError>> {
        let address = free_address();
        let handles: Vec<_> = (0..nodes)
            .map(|rank| {
                let (address, work) = (address.clone(), work.clone());
                std::thread::spawn(move || {
                    let cluster = Cluster::new(nodes, rank, address)?
                        .with_timeout(Duration::from_secs(seconds[rank]));
                    work(&mut cluster.connect()?)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn three_nodes_receive_node_0s_bytes_and_the_same_sum() {
        let results = as_nodes(3, |group| {
            let rank = group.rank();
            let shared = group.broadcast(if rank == 0 { vec![7, 8, 9] } else { vec![] })?;
            let mut values = vec![rank as f32, 1.0, 0.1 * (rank + 1) as f32];
            group.sum(&mut values)?;
            group.agree("answer", 42)?;
            Ok((shared, values))
        });
        let expected = [0.0 + 1.0 + 2.0, 3.0, 0.1 + 0.2 + 0.3_f32];
        for result in results {
            let (shared, values) = result.unwrap();
            assert_eq!(shared, vec![7, 8, 9]);
            assert_eq!(values[..2], expected[..2]);
            assert!((values[2] - expected[2]).abs() < 1e-6);
        }
    }

    #[test]
    fn a_node_holding_another_value_is_named_on_every_node() {
        let results = as_nodes(3, |group| {
            let value = if group.rank() == 2 { 5 } else { 4 };
            group.agree("training set", value)
        });
        for result in results {
            let error = result.unwrap_err().to_string();
            assert!(
                error.starts_with("node 2's training set differs"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_node_that_never_comes_ends_the_coordinators_wait_within_the_limit() {
        let cluster = Cluster::new(2, 0, free_address())
            .unwrap()
            .with_timeout(Duration::from_secs(1));
        let started = Instant::now();
        let error = cluster.connect().unwrap_err().to_string();
        assert_eq!(error, "1 of 2 nodes joined the coordinator within 1 s");
        assert!(started.elapsed() < Duration::from_secs(5));
        let cluster = Cluster::new(2, 1, free_address())
            .unwrap()
            .with_timeout(Duration::from_secs(1));
        let error = cluster.connect().unwrap_err().to_string();
        assert!(
            error.starts_with("node 1 could not reach the coordinator"),
            "{error}"
        );
    }

    #[test]
    fn nodes_that_wait_on_each_other_end_when_the_time_limit_passes() {
        // Out of step: node 0 waits for node 1's value, node 1 for node 0's bytes. Node 0
        // gives up first, and node 1 sees it go.
        let started = Instant::now();
        let results = within(2, [1, 10, 10], |group| match group.rank() {
            0 => group.agree("anything", 1),
            _ => group.broadcast(Vec::new()).map(|_| ()),
        });
        assert!(started.elapsed() < Duration::from_secs(5));
        let error = results[0].as_ref().unwrap_err().to_string();
        assert!(error.starts_with("node 1 sent nothing for 1 s"), "{error}");
        let error = results[1].as_ref().unwrap_err().to_string();
        assert!(error.starts_with("lost node 0"), "{error}");
    }

    #[test]
    fn a_node_that_leaves_mid_exchange_ends_the_others_with_an_error_naming_it() {
        let results = as_nodes(3, |group| {
            if group.rank() == 1 {
                // Leaves: its connection closes when the group drops.
                return Ok(());
            }
            group.sum(&mut [1.0]).map(|_| ())
        });
        let coordinator = results[0].as_ref().unwrap_err().to_string();
        assert!(
            coordinator.starts_with("lost node 1 while summing"),
            "{coordinator}"
        );
        // Node 2 learns it from node 0, which ends without answering.
        let other = results[2].as_ref().unwrap_err().to_string();
        assert!(other.starts_with("lost node 0 while summing"), "{other}");
    }
}
