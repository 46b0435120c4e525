//! The server processes (etcd, kube-apiserver) and their watchdog: spawning them with their
//! output in a log file, stopping them by their own PIDs, and making sure they die with the
//! process that started them even when that process is killed or never runs destructors
//! (test binaries: statics are not dropped at exit).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ControlPlaneError;

/// One server process, its log, and the means to stop it.
#[derive(Debug)]
pub struct ServerProcess {
    name: &'static str,
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl ServerProcess {
    /// Starts `program` with its stdout and stderr appended to `log`. The process gets its
    /// own process group so that a Ctrl-C meant for its owner does not reach it directly:
    /// the owner stops the servers in order (API server before etcd).
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<ServerProcess, ControlPlaneError> {
        let out =
            File::create(&log).map_err(|e| ControlPlaneError::io(format!("cannot create {}", log.display()), e))?;
        let err = out.try_clone().map_err(|e| ControlPlaneError::io(format!("cannot reopen {}", log.display()), e))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| ControlPlaneError::Spawn { name, program: program.to_path_buf(), source })?;
        Ok(ServerProcess { name, child, log, stopped: false })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Fails with the end of the log if the process has already exited.
    pub fn check_running(&mut self) -> Result<(), ControlPlaneError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                self.stopped = true;
                Err(ControlPlaneError::ExitedEarly {
                    name: self.name,
                    status: status.to_string(),
                    log: self.log.clone(),
                    log_tail: self.log_tail(),
                })
            }
            Err(e) => Err(ControlPlaneError::io(format!("cannot check on {}", self.name), e)),
        }
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 3000)
    }

    /// Asks the process to exit (SIGTERM), waits up to `grace`, then kills it (SIGKILL).
    /// Always reaps it, so its PID is free once this returns.
    pub fn stop(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if !grace.is_zero() {
            signal(self.child.id(), libc::SIGTERM);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

/// A `sh` loop that outlives its owner by at most a second: once the owner's PID is gone it
/// kills the servers and removes their data directory. It exists because the owner may die
/// without running destructors (a test binary ends without dropping statics; a killed
/// process runs nothing), and PR_SET_PDEATHSIG fires on the death of the spawning *thread*,
/// which for tests is a short-lived test thread.
#[derive(Debug)]
pub struct Watchdog {
    child: Child,
}

const WATCHDOG_SCRIPT: &str = r#"owner=$1; dir=$2; shift 2
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
kill -9 "$@" 2>/dev/null
sleep 1
rm -rf "$dir"
"#;

impl Watchdog {
    pub fn spawn(data_dir: &Path, pids: &[u32]) -> Result<Watchdog, ControlPlaneError> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("ecs-bridge-control-plane-watchdog")
            .arg(std::process::id().to_string())
            .arg(data_dir)
            .args(pids.iter().map(u32::to_string))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| ControlPlaneError::ToolMissing {
                tool: "sh",
                purpose: "watch over the control plane's processes",
                source,
            })?;
        Ok(Watchdog { child })
    }
}

impl Drop for Watchdog {
    /// The owner is stopping the servers itself: the watchdog is no longer needed.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loopback ports that were free a moment ago. All are held open together so they are
/// distinct; another process can still take one before our server binds it, which start-up
/// detects ([`ControlPlaneError::is_port_race`]) and retries.
pub fn free_ports<const N: usize>() -> Result<[u16; N], ControlPlaneError> {
    let mut listeners = Vec::with_capacity(N);
    for _ in 0..N {
        listeners.push(
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .map_err(|e| ControlPlaneError::io("cannot find a free loopback port", e))?,
        );
    }
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr().map_err(|e| ControlPlaneError::io("cannot read a listener's port", e))?.port();
    }
    Ok(ports)
}

/// Whether a process with this PID exists (zombies included).
pub fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for existence and permission.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: sends a signal to our own child, which we have not reaped yet, so the PID
        // cannot have been reused.
        unsafe { libc::kill(pid, signal) };
    }
}

fn log_tail(path: &Path, max_bytes: u64) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::from("(no log)");
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(max_bytes)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}
