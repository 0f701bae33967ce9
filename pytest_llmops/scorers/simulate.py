"""A simulated user: a model plays the user of an application until a goal is reached or the turns run out.

The simulator's model calls go through the call layer (pass the ``llm`` fixture), and so do the application's
own calls (captured), so a recorded simulation replays byte-identically with zero model calls — and under
``@pytest.mark.sampling`` every sample is its own recorded conversation, giving a k-of-n verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .conversation import Conversation, ConversationResult, Respond

#: what the simulated user writes, alone, once its goal is reached
DONE_TOKEN = "GOAL-REACHED"

SIMULATOR_SYSTEM = (
    "You are role-playing a customer talking to a support assistant. Persona: {persona}. "
    "Your goal: {goal}. Write only the customer's next message: one or two short sentences, no greeting "
    "lines, no explanations. When the assistant has fully helped you reach your goal, reply with exactly "
    f"{DONE_TOKEN}."
)
OPENING = "(The chat window opens. Write your first message to the support assistant.)"

Stop = Callable[[str, ConversationResult], bool]


def _simulator_messages(system: str, result: ConversationResult) -> list[dict[str, str]]:
    """The simulator's view: it is the assistant writing user lines; the application's replies are its input."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": OPENING}]
    for turn in result.turns:
        messages.append({"role": "assistant", "content": turn.user})
        messages.append({"role": "user", "content": turn.output or "(no answer)"})
    return messages


def simulate_user(app: Respond, *, llm: Any, persona: str, goal: str, max_turns: int = 5,
                  stop: Stop | str | None = None, model: str | None = None, case: str | None = None,
                  conversation: Conversation | None = None, **params: Any) -> ConversationResult:
    """Let ``llm`` (the ``llm`` fixture, or anything with ``complete(messages, **params)``) play the user.

    ``app(message, history)`` answers each simulated message.  The conversation ends when ``stop`` says the
    goal is reached — a callable ``stop(last_output, result)`` or a string the application's answer contains
    (case-insensitive) — when the simulated user writes ``GOAL-REACHED``, or after ``max_turns`` turns.
    Returns the :class:`ConversationResult` (``goal_reached``, ``stopped_by``, ``turns``); it is recorded
    on the test with ``simulation_goal_reached`` and the conversation metrics.  Never raises on a missed goal:
    assert on ``result.goal_reached`` (under ``@sampling`` that gives a k-of-n verdict).
    """
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise ConfigError(f"simulate_user(max_turns={max_turns!r}): expected an integer >= 1")
    if not persona or not goal:
        raise ConfigError("simulate_user: persona= and goal= are required (who the user is, what they want)")
    runner = conversation or Conversation()
    system = SIMULATOR_SYSTEM.format(persona=persona, goal=goal)
    result = ConversationResult(case, "simulated", goal_reached=False, stopped_by="max_turns")
    call_params = dict(params)
    if model is not None:
        call_params["model"] = model
    for index in range(max_turns):
        text = llm.complete(_simulator_messages(system, result), **call_params)
        message = str(getattr(text, "text", text)).strip()
        if DONE_TOKEN.lower() in message.lower() and index > 0:
            result.goal_reached, result.stopped_by = True, "simulator"
            break
        message = message.replace(DONE_TOKEN, "").strip() or "Can you help me?"
        done = runner.turn(app, index, message, result.history)
        result.turns.append(done)
        if _stopped(stop, done.output, result):
            result.goal_reached, result.stopped_by = True, "stop"
            break
    runner.finish(result)
    return result


def _stopped(stop: Stop | str | None, output: str, result: ConversationResult) -> bool:
    if stop is None:
        return False
    if isinstance(stop, str):
        return stop.lower() in output.lower()
    return bool(stop(output, result))
