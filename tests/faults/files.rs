//! What CodexManager leaves on disk is its owner's alone, and a database it cannot use is
//! named, with the reason, once.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::serve::Served;
use crate::support::{TestHome, command_with_db};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn data_files_are_private_to_their_owner() {
    let home = TestHome::new();
    let served = Served::start(&home, &[]);
    let health = reqwest::get(format!("{}/health", served.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    let data = home.data_dir();
    for file in ["codexmanager.db", "codexmanager.db-wal", "codexmanager.db-shm", "gateway-trace.log"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    for log in std::fs::read_dir(data.join("logs")).unwrap() {
        assert_eq!(mode(&log.unwrap().path()), 0o600);
    }
    assert_eq!(mode(&data.join("logs")), 0o700);
    served.terminate();
}

#[test]
fn files_left_readable_by_an_older_version_are_made_private() {
    let home = TestHome::new();
    assert!(home.run(&["account", "list"]).status.success());
    let db = home.db();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(home.run(&["account", "list"]).status.success());
    assert_eq!(mode(&db), 0o600);
}

#[test]
fn a_file_that_is_not_a_database_is_named_with_the_reason_once() {
    let home = TestHome::new();
    std::fs::create_dir_all(home.data_dir()).unwrap();
    std::fs::write(home.db(), vec![b'x'; 8192]).unwrap();
    let out = home.run(&["account", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&home.db().display().to_string()), "{stderr}");
    assert!(stderr.contains("not an SQLite database"), "{stderr}");
    assert_eq!(stderr.matches("not a").count(), 1, "the cause is said once: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read(home.db()).unwrap(), vec![b'x'; 8192], "the file is left as it was");
}

#[test]
fn a_database_the_user_may_not_read_says_permission_denied() {
    let home = TestHome::new();
    assert!(home.run(&["account", "list"]).status.success());
    let db = home.db();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Root reads every file: run the check as another user when we are root.
    let root = unsafe { geteuid() } == 0;
    let out = if root {
        for dir in [home.path().to_path_buf(), home.data_dir()] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let cmd = command_with_db(&db, std::path::Path::new("/tmp"));
        let program = cmd.get_program().to_owned();
        let mut setpriv = Command::new("setpriv");
        setpriv.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(program).args(["account", "list"]);
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => setpriv.env(key, value),
                None => setpriv.env_remove(key),
            };
        }
        setpriv.output().unwrap()
    } else {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o000)).unwrap();
        home.run(&["account", "list"])
    };
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("permission denied") && stderr.contains(&db.display().to_string()), "{stderr}");
}

unsafe extern "C" {
    fn geteuid() -> u32;
}
