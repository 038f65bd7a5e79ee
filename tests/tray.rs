//! The tray against a StatusNotifierItem host on a private D-Bus session bus: without a host
//! the app is told there is no tray (so closing the window quits instead of hiding it for
//! good); with one, the icon registers, its menu carries the app's labels, and clicking an
//! entry reaches the app as a command.
//!
//! Runs where `scripts/test` has started a private session bus
//! (`CODEXMANAGER_TEST_PRIVATE_BUS=1`); a desktop's own bus may have a real tray host, which
//! would make the "no host" half meaningless, so elsewhere it says so and passes.
#![cfg(all(target_os = "linux", feature = "tray"))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codexmanager::tray::{Tray, TrayCommand, TrayView};
use zbus::zvariant::{OwnedValue, Value};

const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// A minimal StatusNotifierWatcher that is also the host: it records the items that register.
struct FakeWatcher {
    items: Arc<Mutex<Vec<String>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl FakeWatcher {
    fn register_status_notifier_item(&self, service: &str, #[zbus(header)] header: zbus::message::Header<'_>) {
        // ksni registers either a bus name or an object path; with a path the sender is the item.
        let name = match (service.starts_with('/'), header.sender()) {
            (true, Some(sender)) => sender.to_string(),
            _ => service.to_string(),
        };
        self.items.lock().expect("items lock").push(name);
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items.lock().expect("items lock").clone()
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

fn view() -> TrayView {
    TrayView {
        toggle_window: "Hide window".into(),
        status: "Gateway: running on 127.0.0.1:48760".into(),
        toggle_service: "Stop gateway".into(),
        service_enabled: true,
        copy_url: "Copy base URL".into(),
        quit: "Quit".into(),
    }
}

fn new_tray() -> Result<Tray, String> {
    let pixels = vec![200u8; 16 * 16 * 4];
    Tray::new(pixels, 16, 16, view(), || {})
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The menu's entries as (id, label), read the way a tray host reads them.
fn menu_labels(bus: &zbus::blocking::Connection, item: &str) -> Vec<(i32, String)> {
    let item_proxy =
        zbus::blocking::Proxy::new(bus, item.to_string(), "/StatusNotifierItem", "org.kde.StatusNotifierItem")
            .expect("item proxy");
    let menu_path: zbus::zvariant::OwnedObjectPath = item_proxy.get_property("Menu").expect("the item names its menu");
    let menu =
        zbus::blocking::Proxy::new(bus, item.to_string(), menu_path, "com.canonical.dbusmenu").expect("menu proxy");
    let ids: Vec<i32> = Vec::new();
    let props = vec!["label"];
    let groups: Vec<(i32, HashMap<String, OwnedValue>)> =
        menu.call("GetGroupProperties", &(ids, props)).expect("the menu answers GetGroupProperties");
    groups
        .into_iter()
        .filter_map(|(id, props)| {
            let label = props.get("label")?;
            let label: String = label.try_clone().ok()?.try_into().ok()?;
            Some((id, label))
        })
        .collect()
}

#[test]
fn the_tray_needs_a_host_then_registers_shows_the_menu_and_reports_clicks() {
    if std::env::var_os("CODEXMANAGER_TEST_PRIVATE_BUS").is_none() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the tray test: needs the private D-Bus session that scripts/test starts"
        );
        return;
    }
    let err = new_tray().err().expect("no tray without a host");
    assert!(err.contains("no tray host"), "the reason names the missing host: {err}");

    let items = Arc::new(Mutex::new(Vec::new()));
    let host = zbus::blocking::connection::Builder::session()
        .and_then(|b| b.name(WATCHER))
        .and_then(|b| b.serve_at("/StatusNotifierWatcher", FakeWatcher { items: items.clone() }))
        .and_then(|b| b.build())
        .expect("the fake tray host takes the watcher's name");

    let tray = new_tray().expect("a tray once a host is there");
    let item = wait_for("the icon to register with the host", || items.lock().expect("items lock").first().cloned());

    let labels = menu_labels(&host, &item);
    let texts: Vec<&str> = labels.iter().map(|(_, label)| label.as_str()).collect();
    for expected in ["Hide window", "Gateway: running on 127.0.0.1:48760", "Stop gateway", "Copy base URL", "Quit"] {
        assert!(texts.contains(&expected), "the menu shows {expected:?}: {texts:?}");
    }

    let (quit_id, _) = labels.iter().find(|(_, label)| label == "Quit").expect("a Quit entry");
    let menu =
        zbus::blocking::Proxy::new(&host, item.clone(), "/MenuBar", "com.canonical.dbusmenu").expect("menu proxy");
    let _: () = menu.call("Event", &(*quit_id, "clicked", Value::from(0i32), 0u32)).expect("the menu takes a click");
    let command = wait_for("the click to reach the app", || tray.next_command());
    assert_eq!(command, TrayCommand::Quit);
}
