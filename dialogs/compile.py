"""flows.yaml models → aiogram-dialog StatesGroups, Dialogs, Windows and routers, fresh on every call.

A Dialog is a Router and can have one parent only, so every Dispatcher gets its own ``compile_flows``.
StatesGroup class names are dialog names and state names are window names: saved states read ``main:menu``,
like the YAML.

Plain transitions compile to native widgets (SwitchTo, Start, Back, Cancel) so that ``render_transitions``
draws them; transitions after an action are performed by ``_Engine.perform``, the one function that moves a
user for buttons, selects, inputs and commands, and are declared to the diagram with
``preview_add_transitions``.

Two rules keep a user from being stranded: the start dialog is the bottom of every stack, so ``@done`` there
means ``@home``; and a command rebuilds the stack from the start window, so ``@done`` from what it opened
lands there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BotCommand, CallbackQuery, Message, TelegramObject
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.api.internal import DataGetter
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import (
    Back,
    Button,
    Cancel,
    Group,
    Keyboard,
    Row,
    ScrollingGroup,
    Select,
    Start,
    SwitchTo,
    Url,
)
from aiogram_dialog.widgets.text import Const, Format, Multi, Text

from dialogs import schema
from dialogs.conditions import when
from dialogs.i18n import TextCatalog
from dialogs.inputs import InputValue, checked_input, unexpected_input
from dialogs.registry import SERVICES_KEY, HookContext, HookRegistry
from dialogs.widgets import (
    ItemText,
    LocaleText,
    PageScroll,
    locale_of,
    media_widget,
    pager_row,
    select_scroll_id,
)

logger = logging.getLogger(__name__)

SESSION_EXPIRED_KEY = "common.session_expired"
OK = "ok"

CommandRunner = Callable[[DialogManager, "str | None"], Awaitable[None]]


class CompileError(ValueError):
    """flows.yaml refers to something that does not exist; the validator should have caught it."""


@dataclass(frozen=True)
class CompiledFlows:
    """Everything one Dispatcher needs from flows.yaml."""

    flows: schema.Flows
    texts: TextCatalog
    router: Router
    states: Mapping[str, type[StatesGroup]]
    start_state: State
    dialogs: Sequence[Dialog]
    commands: Mapping[str, CommandRunner] = field(default_factory=dict)

    def state(self, dialog: str, window: str) -> State:
        """The State of ``dialog.window``; KeyError when there is none."""
        found = getattr(self.states[dialog], window, None)
        if not isinstance(found, State):
            raise KeyError(f"{dialog}.{window}")
        return found

    def bot_commands(self, locale: str, *, admins: bool = False) -> list[BotCommand]:
        """The command menu for setMyCommands, described in ``locale``: everyone's commands, and with
        ``admins`` the admin commands after them (set only in the admins' own chats)."""
        return [
            BotCommand(command=c.command, description=self.texts.get(locale, c.description))
            for c in self.flows.commands
            if c.access == "everyone" or admins
        ]


def compile_flows(
    flows: schema.Flows,
    registry: HookRegistry,
    texts: TextCatalog,
    *,
    base_dir: Path,
    is_admin: Callable[[int], bool] = lambda user_id: False,
) -> CompiledFlows:
    """Fresh StatesGroups, Dialogs, Windows and routers for one Dispatcher.

    ``access: admins`` dialogs and commands answer only users ``is_admin`` accepts; for anyone else their
    handlers do not match, so the update goes on exactly as if they did not exist."""
    states = {
        name: type(name, (StatesGroup,), {w: State() for w in dialog.windows})
        for name, dialog in flows.dialogs.items()
    }
    engine = _Engine(flows, registry, texts, states, base_dir)
    admin_filter = _AdminFilter(is_admin)
    dialogs = [engine.dialog(name, dialog) for name, dialog in flows.dialogs.items()]
    for dialog, spec in zip(dialogs, flows.dialogs.values(), strict=True):
        if spec.access == "admins":
            dialog.message.filter(admin_filter)
            dialog.callback_query.filter(admin_filter)
    commands = {c.command: engine.command_runner(c) for c in flows.commands}
    admin_commands = frozenset(c.command for c in flows.commands if c.access == "admins")

    router = Router(name="flows")
    router.include_router(engine.commands_router(commands, admin_commands, admin_filter))
    for dialog in dialogs:
        router.include_router(dialog)
    router.include_router(engine.fallback_router(commands))
    return CompiledFlows(
        flows=flows,
        texts=texts,
        router=router,
        states=states,
        start_state=engine.start_state,
        dialogs=dialogs,
        commands=commands,
    )


class _Engine:
    """Builds the widgets of one compile and performs the transitions they declare."""

    def __init__(
        self,
        flows: schema.Flows,
        registry: HookRegistry,
        texts: TextCatalog,
        states: Mapping[str, type[StatesGroup]],
        base_dir: Path,
    ) -> None:
        self.flows = flows
        self.registry = registry
        self.texts = texts
        self.states = states
        self.base_dir = base_dir
        self.locale = flows.default_locale
        start = schema.resolve_target(flows.start, "")
        if start is None or not start[0]:
            raise CompileError(f"start must be dialog.window, not {flows.start!r}")
        self.start_dialog = start[0]
        self.start_state = self.state(*start)

    def state(self, dialog: str, window: str) -> State:
        group = self.states.get(dialog)
        found = getattr(group, window, None) if group is not None else None
        if not isinstance(found, State):
            raise CompileError(f"no window {dialog}.{window} in flows.yaml")
        return found

    # --- hooks -------------------------------------------------------------------------------------------

    def context(
        self,
        manager: DialogManager,
        args: Mapping[str, Any] | None = None,
        *,
        item_id: str | None = None,
        value: Any = None,
    ) -> HookContext:
        data = manager.middleware_data
        return HookContext(
            manager=manager,
            services=data.get(SERVICES_KEY),
            locale=locale_of(manager, self.locale),
            user=data.get("event_from_user"),
            args=dict(args or {}),
            item_id=item_id,
            value=value,
        )

    def getter(self, name: str | None) -> DataGetter | None:
        if name is None:
            return None
        hook = self.registry.get_getter(name)

        async def load(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
            return await hook(self.context(dialog_manager))

        return load

    async def run(
        self,
        transition: schema.Transition,
        manager: DialogManager,
        here: str | None,
        *,
        item_id: str | None = None,
        value: Any = None,
    ) -> None:
        """Run the transition's action, if any, then perform the target its outcome maps to."""
        outcome = OK
        if transition.action is not None:
            spec = self.registry.get_action(transition.action)
            ctx = self.context(manager, transition.args, item_id=item_id, value=value)
            outcome = await spec.func(ctx) or OK
            if outcome not in spec.outcomes:
                logger.warning("action %s returned undeclared outcome %r", transition.action, outcome)
        await self.perform(manager, transition.targets().get(outcome), here)

    async def perform(self, manager: DialogManager, target: str | None, here: str | None) -> None:
        """Move the user to ``target`` from dialog ``here`` (None: from a command, outside any dialog)."""
        show = ShowMode.SEND if here is None else None
        has_context = manager.has_context()
        if target in (None, "@stay"):
            if here is None:
                await (manager.show(show) if has_context else self.home(manager, show))
        elif target == "@home" or (target in ("@back", "@done") and not has_context):
            await self.home(manager, show)
        elif target == "@back":
            await manager.back(show)
            if here is None:
                await manager.show(show)
        elif target == "@done":
            if len(manager.current_stack().intents) <= 1:
                await self.home(manager, show)
            else:
                await manager.done(show_mode=show)
        else:
            await self.go(manager, target, here)

    async def go(self, manager: DialogManager, target: str, here: str | None) -> None:
        resolved = schema.resolve_target(target, here or self.start_dialog)
        assert resolved is not None  # special targets are handled by perform
        dialog, window = resolved
        state = self.state(dialog, window)
        if here is None:
            if dialog == self.start_dialog:
                await manager.start(state, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)
            else:
                # Rebuild the stack under the target so that @done from it lands on the start window.
                await manager.start(
                    self.start_state, mode=StartMode.RESET_STACK, show_mode=ShowMode.NO_UPDATE
                )
                await manager.start(state, show_mode=ShowMode.SEND)
        elif dialog == here:
            await manager.switch_to(state)
        else:
            await manager.start(state)

    async def home(self, manager: DialogManager, show: ShowMode | None) -> None:
        await manager.start(self.start_state, mode=StartMode.RESET_STACK, show_mode=show)

    # --- widgets -------------------------------------------------------------------------------------------

    def text(self, key: str, condition: str | None = None) -> Text:
        return LocaleText(key, self.texts, self.locale, when=when(condition))

    def native(self, text: Text, wid: str, target: str, here: str, condition: str | None) -> Keyboard:
        """A native widget for a plain transition, so that the diagram draws its edge."""
        predicate = when(condition)
        if target == "@back":
            return Back(text, id=wid, when=predicate)
        if target == "@home" or (target == "@done" and here == self.start_dialog):
            return Start(text, id=wid, state=self.start_state, mode=StartMode.RESET_STACK, when=predicate)
        if target == "@done":
            return Cancel(text, id=wid, when=predicate)
        if target == "@stay":
            return Button(text, id=wid, when=predicate)
        resolved = schema.resolve_target(target, here)
        assert resolved is not None
        dialog, window = resolved
        if dialog == here:
            return SwitchTo(text, id=wid, state=self.state(dialog, window), when=predicate)
        return Start(text, id=wid, state=self.state(dialog, window), when=predicate)

    def edges(self, transition: schema.Transition, wid: str, here: str) -> list[Keyboard]:
        """Invisible widgets that tell the diagram where an action's outcomes lead."""
        return [
            self.native(Const(""), f"{wid}__{outcome}", target, here, None)
            for outcome, target in transition.targets().items()
            if target != "@stay"
        ]

    def button(self, button: schema.Button, here: str) -> Keyboard:
        text = self.text(button.text)
        if button.url is not None:
            return Url(text, Format(button.url), id=button.widget_id, when=when(button.when))
        if button.action is None:
            assert button.next is not None  # the schema demands next, action or url
            return self.native(text, button.widget_id, button.next, here, button.when)

        async def on_click(callback: CallbackQuery, widget: Any, manager: DialogManager) -> None:
            await self.run(button, manager, here)

        return Button(text, id=button.widget_id, on_click=on_click, when=when(button.when))

    def select(self, select: schema.Select, here: str) -> Keyboard:
        async def on_click(
            callback: CallbackQuery, widget: Any, manager: DialogManager, item_id: str
        ) -> None:
            manager.dialog_data[select.id] = item_id
            await self.run(select, manager, here, item_id=item_id)

        item_id = select.item_id
        widget = Select(
            ItemText(select.text, self.texts, self.locale),
            id=select.id,
            item_id_getter=lambda item: str(item[item_id]),
            items=F[select.items],
            on_click=on_click,
        )
        if select.page_size is not None:
            return ScrollingGroup(
                widget,
                id=select_scroll_id(select.id),
                width=select.columns,
                height=select.page_size,
                hide_on_single_page=True,
                when=when(select.when),
            )
        return Group(widget, width=select.columns, when=when(select.when))

    def keyboard(self, window: schema.Window, here: str) -> list[Keyboard]:
        rows: list[Keyboard] = []
        for row in window.rows():
            if isinstance(row, list):
                rows.append(Row(*(self.button(b, here) for b in row)))
            elif isinstance(row, schema.SelectRow):
                rows.append(self.select(row.select, here))
            else:
                if window.scroll is None or window.scroll.id != row.pager:
                    raise CompileError(f"pager {row.pager!r} needs the window's scroll with that id")
                rows.append(pager_row(window.scroll, row.when))
        if window.scroll is not None:
            rows.append(PageScroll(window.scroll))
        return rows

    def message_input(self, window: schema.Window, here: str) -> MessageInput:
        spec = window.input
        if spec is None:
            return unexpected_input(self.texts, self.locale)

        async def on_value(message: Message, value: InputValue, manager: DialogManager) -> None:
            await self.run(spec, manager, here, value=value)

        return checked_input(spec, self.texts, self.locale, on_value)

    def window(self, dialog_name: str, dialog: schema.Dialog, name: str, window: schema.Window) -> Window:
        here = dialog_name
        texts = [self.text(line.key, line.when) for line in window.text_lines()]
        widgets: list[Any] = [Multi(*texts, sep="\n")]
        if window.media is not None:
            widgets.append(media_widget(window.media, self.base_dir))
        widgets += self.keyboard(window, here)
        widgets.append(self.message_input(window, here))
        edges: list[Keyboard] = []
        for button in window.buttons():
            if button.action is not None:
                edges += self.edges(button, button.widget_id, here)
        for select in window.selects():
            edges += self.edges(select, select.id, here)
        if window.input is not None:
            edges += self.edges(window.input, "input", here)
        return Window(
            *widgets,
            state=self.state(dialog_name, name),
            getter=self.getter(window.getter),
            preview_data={**self.flows.preview, **dialog.preview, **window.preview},
            preview_add_transitions=edges or None,
        )

    def dialog(self, name: str, dialog: schema.Dialog) -> Dialog:
        windows = [self.window(name, dialog, wn, w) for wn, w in dialog.windows.items()]
        return Dialog(*windows, getter=self.getter(dialog.getter), name=f"flows.{name}")

    # --- routers -----------------------------------------------------------------------------------------

    def command_runner(self, command: schema.Command) -> CommandRunner:
        async def run(manager: DialogManager, args: str | None) -> None:
            await self.run(command, manager, None, value=args)

        return run

    def commands_router(
        self, commands: Mapping[str, CommandRunner], admin_only: Collection[str], admin_filter: Filter
    ) -> Router:
        """Commands work in any state, so they are tried before the dialogs."""
        router = Router(name="flows.commands")
        for name, runner in commands.items():
            if name in admin_only:
                router.message.register(_command_handler(runner), Command(name), admin_filter)
            else:
                router.message.register(_command_handler(runner), Command(name))
        return router

    def fallback_router(self, commands: Mapping[str, CommandRunner]) -> Router:
        """Updates of users with no open dialog: a message acts as /start, a button opens the start window."""
        router = Router(name="flows.fallback")
        start = commands.get("start")

        async def on_message(message: Message, dialog_manager: DialogManager | None = None) -> None:
            if dialog_manager is None:
                return  # aiogram-dialog refused this chat (stack access): nothing to show
            if start is not None:
                await start(dialog_manager, None)
            else:
                await self.home(dialog_manager, ShowMode.SEND)

        async def on_callback(callback: CallbackQuery, dialog_manager: DialogManager | None = None) -> None:
            if dialog_manager is None:
                return
            text = self.texts.render(locale_of(dialog_manager, self.locale), SESSION_EXPIRED_KEY, {})
            await callback.answer(text)
            await self.home(dialog_manager, ShowMode.SEND)

        router.message.register(on_message)
        router.callback_query.register(on_callback)
        return router


class _AdminFilter(Filter):
    """Passes updates from users ``is_admin`` accepts; says nothing to anyone else."""

    def __init__(self, is_admin: Callable[[int], bool]) -> None:
        self._is_admin = is_admin

    async def __call__(self, event: TelegramObject) -> bool:
        user = getattr(event, "from_user", None)
        return user is not None and self._is_admin(user.id)


def _command_handler(runner: CommandRunner) -> Callable[..., Awaitable[None]]:
    async def handle(
        message: Message, command: CommandObject, dialog_manager: DialogManager | None = None
    ) -> None:
        if dialog_manager is not None:  # None: aiogram-dialog refused this chat (stack access)
            await runner(dialog_manager, command.args)

    return handle
