"""The first screen: which address to verify."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from otp_tui.flow import wording
from otp_tui.flow.views import AskAddress, Countdown, Presentation
from otp_tui.language import N_
from otp_tui.tui.messages import AddressScreenReady, AddressSubmitted, BackAsked
from otp_tui.tui.screens.base import OtpScreen, update_if_changed
from otp_tui.tui.widgets.steady_input import SteadyInput

# Seconds after the first frame before the later screens' styles are warmed up.
WARM_UP_DELAY = 0.25


class AddressEntry(SteadyInput):
    """The address input, whose Enter the key bar names: Input's own Enter binding is hidden,
    and it shadows the screen's, so a person would not see what Enter does."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "submit", N_("Send code"), tooltip=N_("Email a one-time code to this address")
        ),
    ]


class AddressScreen(OtpScreen):
    # Focused as the screen is composed, before the keys held while the app started arrive.
    AUTO_FOCUS = "#address"
    BINDINGS: ClassVar[list[BindingType]] = [
        # For when the entry is not focused (a fixed address); the entry names its own Enter.
        Binding(
            "enter", "send", N_("Send code"), tooltip=N_("Email a one-time code to this address")
        ),
        # Escape goes back (a send under way is cancelled) and clears a message; it never
        # ends the run: quitting is ctrl+q, and q where nothing is typed (a fixed address).
        Binding("escape", "back", N_("Back"), show=False),
        Binding("q", "app.quit_run", N_("Quit"), show=False),
        # Enter typed ahead, before the terminal leaves line mode, arrives as a newline (ctrl+j).
        Binding("ctrl+j", "send", N_("Send code"), show=False),
    ]

    def __init__(self, presentation: Presentation, view: AskAddress) -> None:
        super().__init__(presentation)
        self.view = view
        self._busy = False  # a send started from this screen is under way

    def compose_body(self) -> ComposeResult:
        yield Static(wording.address_title(), classes="title")
        yield Static(wording.address_hint(self.presentation.code_length), classes="hint")
        entry = AddressEntry(placeholder="you@example.com", id="address")
        fixed = self.presentation.fixed_address
        if fixed is not None:
            entry.value = fixed
            entry.disabled = True
        yield entry
        yield Static(wording.notice(self.view.notice), id="address-error", classes="error")

    def on_mount(self) -> None:
        self._render_view()
        if self.presentation.fixed_address is not None:
            # Nothing to type: the body takes focus, so the arrow keys scroll a small terminal.
            body = self.query_one("#body")
            body.can_focus = True
            self.set_focus(body)
        self.post_message(AddressScreenReady())
        self.set_timer(WARM_UP_DELAY, self._warm_up)

    async def _warm_up(self) -> None:
        from otp_tui.tui.warm_up import warm_up_styles

        if self.is_current:
            await warm_up_styles(self.query_one("#body"))

    def show(self, view: AskAddress) -> None:
        self.view = view
        self._busy = False
        if self.is_mounted:  # else it is still composing, and shows `view` once mounted
            self._render_view()

    def _render_view(self) -> None:
        notice = self.view.notice
        self._say(wording.notice(notice), error=notice.is_error)

    def _say(self, text: str, *, error: bool) -> None:
        label = self.query_one("#address-error", Static)
        label.update(text)
        label.set_class(not error, "hint")

    def show_countdown(self, countdown: Countdown) -> None:
        """The clocks: a cooldown on screen is counted down (the one notice that changes)."""
        if self.view.notice.kind == "cooldown" and self.is_mounted:
            text = wording.cooldown_same_address(countdown.resend_in)
            update_if_changed(self.query_one("#address-error", Static), text)

    def show_busy(self) -> None:
        self.view = AskAddress()
        self._busy = True
        if self.is_mounted:
            self._say(wording.sending_now(), error=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        # What was wrong with the address goes as soon as the person starts to fix it; a
        # cooldown stays, counting down, whatever address is typed meanwhile.
        notice = self.view.notice
        if notice.is_error and notice.kind != "cooldown":
            self.show(AskAddress())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    def action_back(self) -> None:
        if self._busy:  # a send started from here, before its screen appeared: cancel it
            self.post_message(BackAsked())
            return
        notice = self.view.notice
        if notice.is_error and notice.kind != "cooldown":  # a live wait stays
            self.show(AskAddress())

    def action_send(self) -> None:
        # A fixed address is the run's own; the entry only shows it (masked).
        raw = "" if self.presentation.fixed_address else self.query_one("#address", Input).value
        self.post_message(AddressSubmitted(raw))
