"""The main window: conversations on the left, the chat on the right."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from assistant import hardware, network
from assistant.chat.store import ChatStore
from assistant.library import usage
from assistant.library.hub_access import endpoint_from_setting, stored_token
from assistant.model_settings import engine_choices, needs_reload
from assistant.paths import Paths
from assistant.settings import Settings, save_settings
from assistant.ui.about_dialog import AboutDialog
from assistant.ui.chat.chat_view import ChatView
from assistant.ui.chat.conversation_panel import ConversationPanel
from assistant.ui.chat.deleted_chats import DeletedChats
from assistant.ui.chat.empty_state import EmptyState
from assistant.ui.chat.engine_host import LoadedModel
from assistant.ui.chat.export_dialog import export_conversation
from assistant.ui.chat.header import ChatHeader
from assistant.ui.chat.input_box import PromptEdit
from assistant.ui.chat.model_scan import ModelScan, start_scan
from assistant.ui.chat.models.installed import InstalledModelsModel, ModelEntry
from assistant.ui.chat.session import ChatSession
from assistant.ui.cloud.controls import CloudControls, CloudControlsHost
from assistant.ui.common.actions import add_action
from assistant.ui.common.dialogs import choose_model_file
from assistant.ui.common.icons import app_icon
from assistant.ui.common.row_fit import RowFit, page_icon, tool_icon
from assistant.ui.common.saved_state import state_from_text, state_to_text
from assistant.ui.common.theme import apply_theme, notifier
from assistant.ui.common.window_size import fit_to_screen
from assistant.ui.documents.chat_documents import ChatDocuments, ChatDocumentsHost
from assistant.ui.documents.dialog import open_documents
from assistant.ui.library.download_host import DownloadHost
from assistant.ui.library.model_settings_dialog import ModelSettingsDialog
from assistant.ui.library.window import LibraryWindow
from assistant.ui.library.wizard import FirstRunWizard
from assistant.ui.navigation import Navigation
from assistant.ui.server.controls import ServerControls
from assistant.ui.server.host import ServerHost
from assistant.ui.settings.dialog import SettingsDialog
from assistant.ui.settings.network_view import NetworkActivityDialog
from assistant.ui.tools.chat_tools import ChatToolsBinding, ChatToolsHost
from assistant.ui.tools.controls import ToolsControls
from assistant.ui.vision.chat_images import ChatImages, ChatImagesHost

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, paths: Paths, settings: Settings, store: ChatStore) -> None:
        super().__init__()
        self.paths, self.settings, self.store = paths, settings, store
        self.setWindowTitle("Assistant")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(640, 420)
        self.session = ChatSession(store, settings, self)
        self.installed = InstalledModelsModel(self)
        self._scan: ModelScan | None = None
        self._scanned = False
        self._engine_gone = False  # the model's process ended while idle (said in the header)
        self.library = None  # LibraryWindow, made on first use
        self.wizard = None  # FirstRunWizard at a first start with no model
        self.hub_endpoint: str | None = None  # None: huggingface_hub's default (tests: a local Hub)
        self._download_host = None

        # left
        self.panel = ConversationPanel(store, self)
        # right
        self.header = ChatHeader(self.installed, self)
        self.chat = ChatView(self.session.messages, self)
        self.prompt = PromptEdit(self)
        self.send_button = QPushButton("Send", self)
        self.send_button.setAccessibleName("Send message")
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setAccessibleName("Stop the answer")
        self.stop_button.setToolTip("Stop (Esc)")
        self.stop_button.hide()
        input_row = QHBoxLayout()
        input_row.setContentsMargins(12, 6, 12, 10)
        input_row.addWidget(self.prompt, 1)
        input_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        input_row.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.input_row = input_row  # the cloud controls add "Ask <cloud model>" here
        self.chat.column_changed.connect(lambda side: input_row.setContentsMargins(max(12, side - 4), 6, max(12, side - 4), 10))
        chat_box = QWidget(self)
        cb = self._chat_layout = QVBoxLayout(chat_box)
        cb.setContentsMargins(0, 0, 0, 0)
        cb.setSpacing(0)
        cb.addWidget(self.chat, 1)
        cb.addLayout(input_row)
        self.empty = EmptyState(str(paths.models_dir), self)
        self.scanning = QLabel("Looking for your models…", self)
        self.scanning.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QStackedWidget(self)
        for w in (self.scanning, self.empty, chat_box):
            self.body.addWidget(w)
        self._chat_box = chat_box
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(0)
        rl.addWidget(self.header)
        rl.addWidget(self.body, 1)

        self._right_layout = rl  # the deleted-chats bar goes below the chat (after the menus exist)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 740])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self._build_menus()
        self.deleted = DeletedChats(store, self, self.edit_menu)  # Undo (Ctrl+Z) until the app quits
        self.deleted.restored.connect(self._on_chat_restored)
        rl.addWidget(self.deleted.bar)
        self._connect()

        self.cloud = CloudControls(CloudControlsHost(
            window=self, session=self.session, store=self.store, chat_menu=self.chat_menu,
            input_row=self.input_row, send_button=self.send_button, prompt=self.prompt, chat=self.chat,
            status_bar=self.statusBar(), save_settings=self._save_settings, config_dir=self.paths.config_dir,
        ))
        self.documents = ChatDocuments(ChatDocumentsHost(  # Documents beside the box, chips, sources
            window=self, paths=paths, session=self.session, store=store, chat=self.chat, prompt=self.prompt,
            input_row=self.input_row, chat_layout=self._chat_layout, chat_menu=self.chat_menu, status_bar=self.statusBar()))
        self.servers = ServerControls(self, ServerHost(paths.models_dir, self), self)  # Settings → Server, Your servers
        # MCP servers (one ToolsHost for the app: nothing starts until a chat uses a tool), the
        # Tools button beside the box, Settings → Tools
        self.tools = ToolsControls(self.settings, self._save_settings, self.open_settings, parent=self)
        self.chat_tools = ChatToolsBinding(ChatToolsHost(
            window=self, session=self.session, store=store, chat=self.chat, input_row=self.input_row,
            chat_menu=self.chat_menu, status_bar=self.statusBar(), collections=lambda _cid: self.documents.chosen()),
            self.tools)
        self.row_fit = RowFit(self.input_row, self.chat, [  # Documents and Tools fold to icons when narrow
            (self.documents.button, page_icon(self)), (self.chat_tools.button, tool_icon(self))])
        # vision: Image… beside the box, drops and pastes of pictures, thumbnails (ui/vision)
        self.images = ChatImages(ChatImagesHost(
            window=self, session=self.session, chat=self.chat, prompt=self.prompt, input_row=self.input_row,
            chat_layout=self._chat_layout, chat_menu=self.chat_menu, data_dir=paths.data_dir,
            installed=lambda: [e.ref for r in range(self.installed.rowCount()) if (e := self.installed.entry_at(r))],
            choose_model=self._on_model_chosen, other_files=lambda files: self.documents.attach(list(map(Path, files))),
            offer_files=lambda files: self.documents.offer(files)))
        self.statusBar().showMessage("Offline mode is on" if settings.offline_mode else "", 0)
        self.nav = Navigation(self, self.view_menu, self.session, self.panel, self.header, self.chat,
                              self.prompt, self.send_button)
        self._restore_state()
        self.panel.reload(self.session.conversation_id)
        self.body.setCurrentWidget(self.scanning)
        self.rescan_models()

    # -- construction ---------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:  # type: ignore[no-untyped-def]
        return add_action(self, menu, text, slot, shortcut)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&New chat", self._on_new_chat, QKeySequence.StandardKey.New)
        self._action(f, "&Add a model file…", self._on_add_model, "Ctrl+O")
        f.addSeparator()
        self._action(f, "Export chat as &Markdown…", lambda: self._export(self.session.conversation_id, "md"))
        self._action(f, "Export chat as &JSON…", lambda: self._export(self.session.conversation_id, "json"))
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = self.edit_menu = bar.addMenu("&Edit")
        self._action(e, "&Find in chats", self.panel.focus_search, QKeySequence.StandardKey.Find)
        self._action(e, "&Settings…", self.open_settings, "Ctrl+,")
        m = bar.addMenu("&Models")
        self.library_action = self._action(m, "Model &library…", self.open_library, "Ctrl+L")
        self._action(m, "Model &settings…", lambda: self.open_model_settings(None))
        self._action(m, "&Documents…", lambda: open_documents(self), "Ctrl+Shift+D")
        c = self.chat_menu = bar.addMenu("&Chat")
        self.stop_action = self._action(c, "&Stop", self.session.stop, Qt.Key.Key_Escape)
        self.regen_action = self._action(c, "&Regenerate answer", self.session.regenerate, "Ctrl+R")
        self._action(c, "&Rename chat…", self.panel.rename_current, Qt.Key.Key_F2)
        self.view_menu = bar.addMenu("&View")
        h = bar.addMenu("&Help")
        self._action(h, "&About Assistant", self._on_about)

    def _connect(self) -> None:
        s = self.session
        self.prompt.prompt_submitted.connect(self._on_prompt_submitted)
        self.send_button.clicked.connect(self.prompt.submit)
        self.stop_button.clicked.connect(s.stop)
        s.busy_changed.connect(self._on_busy_changed)
        s.model_loading.connect(self.header.show_loading)
        s.model_loaded.connect(self._on_model_loaded)
        s.model_load_failed.connect(self._on_model_load_failed)
        s.model_load_cancelled.connect(lambda: self.header.show_ready(
            "Loading cancelled.", "The model was not loaded. Choose it in the list to load it again."))
        s.conversation_changed.connect(self._on_conversation_changed)
        s.conversations_changed.connect(lambda: self._on_conversation_changed(s.conversation_id))  # titles too
        s.error_occurred.connect(self._on_error)
        s.engine_exited.connect(self._on_engine_exited)
        self.chat.edit_submitted.connect(s.edit_and_resend)
        self.chat.regenerate_requested.connect(s.regenerate)
        self.chat.continue_requested.connect(s.continue_answer)
        self.chat.version_requested.connect(s.show_version)
        self.chat.link_activated.connect(self._on_link_activated)
        self.chat.message_copied.connect(lambda _row: self.statusBar().showMessage("Copied to the clipboard", 2000))
        self.panel.conversation_selected.connect(s.open_conversation)
        self.panel.search_hit_selected.connect(self._on_search_hit)
        self.panel.new_chat_requested.connect(self._on_new_chat)
        self.panel.delete_requested.connect(self._on_delete_requested)
        self.panel.export_requested.connect(self._export)
        self.panel.conversation_renamed.connect(lambda cid, _t: self._on_conversation_changed(s.conversation_id))
        self.header.model_chosen.connect(self._on_model_chosen)
        self.header.add_model_requested.connect(self._on_add_model)
        self.header.library_requested.connect(self.open_library)
        self.header.model_settings_requested.connect(lambda: self.open_model_settings(None))
        self.header.load_cancel_requested.connect(s.cancel_load)
        self.empty.add_model_requested.connect(self._on_add_model)
        self.empty.library_requested.connect(lambda: self.open_library(0))

        notifier().theme_applied.connect(self.chat.set_dark)  # also when the system switches

    # -- models --------------------------------------------------------------------
    def rescan_models(self) -> None:
        self._scan = start_scan(self.paths.models_dir, replace(self.settings), self._on_models_scanned)

    @Slot(object)
    def _on_models_scanned(self, entries: list[ModelEntry]) -> None:
        self._scan = None
        self._scanned = True
        self.installed.set_entries(entries)
        runnable = [e for e in entries if e.can_run and e.ref.format != "remote"]  # never a server, unasked
        self.body.setCurrentWidget(self._chat_box if entries else self.empty)
        self.header.set_models_shown(bool(entries))
        current = self.session.loaded.model if self.session.loaded else self.session.loading
        if current is not None:  # a model is already in use: keep it
            self.header.select_path(str(current.path))
            return
        wanted = next((e for e in runnable if str(e.ref.path) == self.settings.default_model), None)
        choice = wanted or (runnable[0] if runnable else None)
        if choice is not None:
            self.header.select_path(str(choice.ref.path))
            self.session.load_model(choice.ref)
        elif entries:
            self.header.show_ready("None of these models can run on this computer.")
        elif not self.settings.first_run_done and self.wizard is None:
            QTimer.singleShot(0, self.open_wizard)

    def _on_model_chosen(self, ref) -> None:  # type: ignore[no-untyped-def]
        if self.session.loaded and self.session.loaded.model.path == ref.path:
            return
        self.session.load_model(ref)

    def _on_model_loaded(self, loaded: LoadedModel) -> None:
        self.header.select_path(str(loaded.model.path))
        self._show_model_status(loaded)
        self.settings.default_model = str(loaded.model.path)
        self._save_settings()

        usage.record_used(usage.usage_path(self.paths.data_dir), loaded.model.path)
        self.prompt.setFocus()

    def _show_model_status(self, loaded: LoadedModel) -> None:
        self._engine_gone = False
        self.header.show_ready(
            f"{loaded.backend} · {loaded.context_length:,} tokens",
            f"{loaded.model.display_name}: {loaded.context_length:,} tokens of context. {loaded.plan_reason}",
        )

    def _on_engine_exited(self, message: str) -> None:
        # said once, where the model's state is shown; no dialog over the chat
        self._engine_gone = True
        self.header.show_ready("Stopped: loads again when you send.", message)
        self.statusBar().showMessage(message, 15000)

    def _on_model_load_failed(self, message: str) -> None:
        self.header.show_ready("Could not load the model.")
        QMessageBox.warning(self, "The model could not be loaded", message)

    def _on_add_model(self) -> None:
        path = choose_model_file(self, "Add a model file")
        if path:
            self._add_model_file(path)

    def _add_model_file(self, path: str) -> None:
        """A model file used where it is (Add a model file…, the wizard's own file)."""
        if path not in self.settings.extra_models:
            self.settings.extra_models.append(path)
        self.settings.default_model = path
        self._save_settings()
        self.statusBar().showMessage("Added. The file stays where it is.", 4000)
        self.rescan_models()

    # -- library, model settings, first run ---------------------------------------------
    def download_host(self):  # type: ignore[no-untyped-def]
        """The download queue, made on first use (no network and no thread before that)."""
        if self._download_host is None:

            self._download_host = DownloadHost(self.paths.models_dir, self.current_hub_endpoint(), self,
                                               token_source=stored_token)
            self._download_host.download_finished.connect(lambda *_: self.rescan_models())
        return self._download_host

    def current_hub_endpoint(self) -> str | None:
        """The Hub's address: a test's local Hub, else the setting (None: huggingface.co)."""
        return self.hub_endpoint or endpoint_from_setting(self.settings.hub_endpoint)

    def open_library(self, tab: int | None = None) -> None:
        if self.library is None:
            self.library = LibraryWindow(self.paths, self.settings, self.download_host, self,
                                         endpoint=self.current_hub_endpoint())
            self.library.model_use_requested.connect(self._on_model_chosen)
            self.library.models_changed.connect(lambda: (self._save_settings(), self.rescan_models()))
            self.library.model_settings_requested.connect(self.open_model_settings)
        else:
            self.library.refresh_offline()
            self.library.refresh_installed()
        if tab is not None:
            self.library.tabs.setCurrentIndex(tab)
        self.library.show()
        self.library.raise_()
        self.library.activateWindow()

    def open_model_settings(self, ref=None) -> None:  # type: ignore[no-untyped-def]
        ref = ref or (self.session.loaded.model if self.session.loaded else None)
        if ref is None:
            QMessageBox.information(self, "No model", "Load a model first, or open its settings from the library.")
            return
        if ref.format == "remote":  # its context, sampling and GPUs are the server's own
            QMessageBox.information(self, "A model on your server", f"{ref.display_name} runs with its server's settings.")
            return
        engines = engine_choices(ref.format, hardware.detect())  # cached after the first scan
        dlg = ModelSettingsDialog(ref, self.settings, engines, self)
        dlg.model_settings_changed.connect(self._on_model_settings_changed)
        dlg.advanced_toggled.connect(lambda _on: self._save_settings())
        dlg.exec()

    def _on_model_settings_changed(self, ref, old, new) -> None:  # type: ignore[no-untyped-def]
        self._save_settings()
        loaded = self.session.loaded.model if self.session.loaded else None
        if loaded is not None and loaded.path == ref.path and needs_reload(old, new):
            self.session.load_model(ref)  # context / GPU / threads / template / engine: load again

    def open_wizard(self) -> None:
        if self.wizard is not None:
            self.wizard.raise_()
            return
        self.wizard = FirstRunWizard(self.paths, self.settings, self.download_host, self,
                                     endpoint=self.current_hub_endpoint())
        self.wizard.model_ready.connect(self._on_wizard_model_ready)
        self.wizard.finished.connect(self._on_wizard_finished)
        self.wizard.model_file_chosen.connect(self._add_model_file)
        self.wizard.show()

    def _on_wizard_model_ready(self, ref) -> None:  # type: ignore[no-untyped-def]
        self.rescan_models()
        self.session.new_conversation()
        self.session.load_model(ref)

    def _on_wizard_finished(self, _result: int) -> None:
        self.settings.first_run_done = True
        self._save_settings()

    # -- chat ----------------------------------------------------------------------------
    def _on_prompt_submitted(self, text: str) -> None:
        if self.session.send(text):
            self.prompt.clear()

    def _on_busy_changed(self, busy: bool) -> None:
        if not busy and self._engine_gone and self.session.loaded is not None:
            self._show_model_status(self.session.loaded)  # the answer loaded it again
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)
        self.chat.set_busy(busy)
        self.header.picker.setEnabled(not busy)
        if busy:
            self.chat.scroll_to_bottom()

    def _on_conversation_changed(self, conversation_id: int) -> None:
        self.panel.reload(conversation_id)
        conv = self.store.get_conversation(conversation_id) if conversation_id else None
        self.setWindowTitle(f"{conv.title} — Assistant" if conv else "Assistant")
        self.settings.last_conversation_id = conversation_id

    def _on_new_chat(self) -> None:
        self.session.new_conversation()
        self.prompt.setFocus()

    def _on_search_hit(self, conversation_id: int, message_id: int) -> None:
        self.session.open_conversation(conversation_id)
        rows = [m.id for m in self.session.messages.messages()]
        if message_id in rows:  # open at the match, not at the bottom
            words = [w for w in self.panel.search.text().split() if any(ch.isalnum() for ch in w)]
            self.chat.show_row(rows.index(message_id), words[0].strip('"*') if words else "")

    def _on_error(self, message: str) -> None:
        QMessageBox.warning(self, "Something went wrong", message)

    def _on_link_activated(self, url: QUrl) -> None:
        # a link in an answer opens in the browser only when the user clicks it
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    # -- delete with undo ------------------------------------------------------------
    def _on_delete_requested(self, conversation_id: int) -> None:
        if conversation_id == self.session.conversation_id:
            self.session.new_conversation()
        if self.deleted.delete(conversation_id):
            self.panel.reload(self.session.conversation_id)

    def _on_chat_restored(self, conversation_id: int) -> None:
        self.session.open_conversation(conversation_id)
        self.panel.reload(conversation_id)

    # -- export ----------------------------------------------------------------------
    def _export(self, conversation_id: int, kind: str) -> None:
        export_conversation(self, self.store, conversation_id, kind, self.statusBar())

    # -- settings ------------------------------------------------------------------------
    def open_settings(self) -> None:
        dlg = SettingsDialog(self.settings, self.paths, self)
        dlg.settings_changed.connect(self.apply_settings)
        dlg.network_activity_requested.connect(self.open_network_activity)
        dlg.model_settings_requested.connect(lambda: self.open_model_settings(None))
        self.cloud.add_settings_tab(dlg)
        self.servers.add_settings_tabs(dlg)
        self.tools.add_settings_tab(dlg)
        dlg.exec()

    def open_network_activity(self) -> None:
        NetworkActivityDialog(self).exec()

    def apply_settings(self, new: Settings) -> None:
        self.settings.theme, self.settings.font_size = new.theme, new.font_size
        self.settings.system_prompt, self.settings.offline_mode = new.system_prompt, new.offline_mode

        network.set_offline(new.offline_mode)
        if self.library is not None:
            self.library.refresh_offline()
        apply_theme(QApplication.instance(), new.theme, new.font_size)  # type: ignore[arg-type]
        self.statusBar().showMessage("Offline mode is on" if new.offline_mode else "", 0)
        self._save_settings()

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings, self.paths.settings_file)
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save settings: {exc.strerror}", 5000)

    # -- state -----------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = self.settings
        if s.window_geometry:
            self.restoreGeometry(state_from_text(s.window_geometry))
        else:
            fit_to_screen(self, QSize(1100, 720))  # a small screen gets a window that fits it
        if s.splitter_state:
            self.splitter.restoreState(state_from_text(s.splitter_state))
        if s.last_conversation_id and self.store.get_conversation(s.last_conversation_id):
            self.session.open_conversation(s.last_conversation_id)

    def _on_about(self) -> None:
        models = [self.installed.entry_at(i).ref for i in range(self.installed.rowCount())]  # type: ignore[union-attr]
        AboutDialog(models, self).exec()

    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            self.deleted.purge()
            self.settings.window_geometry = state_to_text(self.saveGeometry())
            self.settings.splitter_state = state_to_text(self.splitter.saveState())
            self.settings.last_conversation_id = self.session.conversation_id
            self._save_settings()
        finally:
            # the worker thread must end even if saving failed, or Qt aborts at exit
            self.session.shutdown()
            self.documents.shutdown()
            self.images.shutdown()  # a picture being scaled down
            self.servers.shutdown()
            self.tools.shutdown()  # the MCP servers' processes
            if self._download_host is not None:
                self._download_host.shutdown()
        super().closeEvent(event)
