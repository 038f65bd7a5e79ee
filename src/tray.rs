//! The tray icon and its menu: show or hide the window, the gateway's state with start/stop,
//! copy the base URL, quit. The menu only reports what was chosen ([`TrayCommand`]); the
//! window decides what it means. On Linux the icon speaks StatusNotifierItem over D-Bus
//! (no GTK); where no session bus answers, or no tray host (a panel that shows
//! StatusNotifierItems) is registered with it, [`Tray::new`] fails and the app runs without one.

use std::sync::mpsc;

use tray_icon::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};

/// What the user picked in the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayCommand {
    ToggleWindow,
    ToggleService,
    CopyBaseUrl,
    Quit,
}

/// What the menu says, in the user's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    /// "Show window" or "Hide window".
    pub toggle_window: String,
    /// The gateway's state, e.g. "Gateway: running on 127.0.0.1:48760".
    pub status: String,
    /// "Start gateway" or "Stop gateway".
    pub toggle_service: String,
    /// False while the service is starting or stopping.
    pub service_enabled: bool,
    pub copy_url: String,
    pub quit: String,
}

pub struct Tray {
    _icon: TrayIcon,
    toggle_window: MenuItem,
    status: MenuItem,
    toggle_service: MenuItem,
    copy_url: MenuItem,
    quit: MenuItem,
    commands: mpsc::Receiver<TrayCommand>,
    shown: TrayView,
}

impl Tray {
    /// Creates the icon (RGBA pixels) with its menu. `wake` is called after every command so
    /// the window can handle it even while hidden.
    pub fn new(
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        view: TrayView,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Result<Tray, String> {
        #[cfg(target_os = "linux")]
        linux_host::check()?;
        let toggle_window = MenuItem::new(&view.toggle_window, true, None);
        let status = MenuItem::new(&view.status, false, None);
        let toggle_service = MenuItem::new(&view.toggle_service, view.service_enabled, None);
        let copy_url = MenuItem::new(&view.copy_url, true, None);
        let quit = MenuItem::new(&view.quit, true, None);
        let menu = Menu::new();
        menu.append_items(&[
            &toggle_window,
            &PredefinedMenuItem::separator(),
            &status,
            &toggle_service,
            &copy_url,
            &PredefinedMenuItem::separator(),
            &quit,
        ])
        .map_err(|e| e.to_string())?;
        let icon = Icon::from_rgba(rgba, width, height).map_err(|e| e.to_string())?;
        let tray = TrayIconBuilder::new()
            .with_id("codexmanager")
            .with_tooltip("CodexManager")
            .with_title("CodexManager")
            .with_icon(icon)
            .with_menu(Box::new(menu))
            .with_menu_on_left_click(false)
            .build()
            .map_err(|e| e.to_string())?;

        let (tx, commands) = mpsc::channel();
        let wake = std::sync::Arc::new(wake);
        let ids = [
            (toggle_window.id().clone(), TrayCommand::ToggleWindow),
            (toggle_service.id().clone(), TrayCommand::ToggleService),
            (copy_url.id().clone(), TrayCommand::CopyBaseUrl),
            (quit.id().clone(), TrayCommand::Quit),
        ];
        let menu_tx = tx.clone();
        let menu_wake = wake.clone();
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            if let Some((_, command)) = ids.iter().find(|(id, _)| *id == event.id) {
                let _ = menu_tx.send(*command);
                menu_wake();
            }
        }));
        TrayIconEvent::set_event_handler(Some(move |event: TrayIconEvent| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                let _ = tx.send(TrayCommand::ToggleWindow);
                wake();
            }
        }));
        Ok(Tray { _icon: tray, toggle_window, status, toggle_service, copy_url, quit, commands, shown: view })
    }

    /// The next command picked since the last call, if any.
    pub fn next_command(&self) -> Option<TrayCommand> {
        self.commands.try_recv().ok()
    }

    /// Brings the menu's texts up to date; only what changed is sent to the tray host.
    pub fn update(&mut self, view: TrayView) {
        if view == self.shown {
            return;
        }
        if view.toggle_window != self.shown.toggle_window {
            self.toggle_window.set_text(&view.toggle_window);
        }
        if view.status != self.shown.status {
            self.status.set_text(&view.status);
        }
        if view.toggle_service != self.shown.toggle_service {
            self.toggle_service.set_text(&view.toggle_service);
        }
        if view.service_enabled != self.shown.service_enabled {
            self.toggle_service.set_enabled(view.service_enabled);
        }
        if view.copy_url != self.shown.copy_url {
            self.copy_url.set_text(&view.copy_url);
        }
        if view.quit != self.shown.quit {
            self.quit.set_text(&view.quit);
        }
        self.shown = view;
    }
}

/// Whether a StatusNotifierItem host is there to show the icon. The tray crate registers the
/// icon even when none is (a host started later picks it up), which on a desktop without one
/// (stock GNOME) would leave a window hidden to the tray with no way back.
#[cfg(target_os = "linux")]
mod linux_host {
    const WATCHER: &str = "org.kde.StatusNotifierWatcher";

    #[zbus::proxy(
        interface = "org.kde.StatusNotifierWatcher",
        default_service = "org.kde.StatusNotifierWatcher",
        default_path = "/StatusNotifierWatcher"
    )]
    trait Watcher {
        #[zbus(property)]
        fn is_status_notifier_host_registered(&self) -> zbus::Result<bool>;
    }

    /// Ok when the session bus has a watcher with a host registered; else why not.
    pub fn check() -> Result<(), String> {
        let bus = zbus::blocking::Connection::session().map_err(|err| format!("no D-Bus session bus: {err}"))?;
        let dbus = zbus::blocking::fdo::DBusProxy::new(&bus).map_err(|err| err.to_string())?;
        let name = zbus::names::BusName::try_from(WATCHER).map_err(|err| err.to_string())?;
        if !dbus.name_has_owner(name).map_err(|err| err.to_string())? {
            return Err(format!("no tray host: nothing on the session bus owns {WATCHER}"));
        }
        let watcher = WatcherProxyBlocking::new(&bus).map_err(|err| err.to_string())?;
        match watcher.is_status_notifier_host_registered() {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("no tray host: {WATCHER} has no host registered")),
            Err(err) => Err(format!("no tray host: {WATCHER} did not answer ({err})")),
        }
    }
}
