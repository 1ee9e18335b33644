"""The visitors' side of the benchmark: scripted, realistic conversations for each bot.

A script is a list of turns; a turn is a list of wordings, one of which a visitor says (a seeded
choice, so a run is reproducible). Ours are what clinic visitors ask (questions, contraindication
lookups, follow-ups that need the context, thanks). The `rasa init` bot's are built from its own
intents and training examples, so it is measured on what it was made to answer.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Collection, Dict, List, Sequence

import yaml

Turn = List[str]
Script = List[Turn]

OURS: List[Script] = [
    [  # a course of treatment, with a follow-up that only makes sense in context
        ["hi", "hello there", "hey, first time on this site"],
        ["how does ketamine therapy work?", "how does ketamine work in the brain",
         "can you explain how ketamine treatment works"],
        ["how many sessions will I need?", "how many infusions does it take",
         "how often do i have to come in"],
        ["and how long is each one?", "ok and how long do they last each time"],
        ["thanks", "thank you so much"],
        ["bye", "that's all, bye"],
    ],
    [  # side effects and risks
        ["what are the side effects?", "are there any side effects",
         "will it make me feel sick"],
        ["is it addictive?", "can you get hooked on ketamine"],
        ["does it hurt?", "is the infusion painful"],
        ["thanks", "ok thx"],
    ],
    [  # a condition, a follow-up condition, then the general list
        ["I have high blood pressure, can I do ketamine?", "my BP runs high, is that ok",
         "hypertension here, do i qualify"],
        ["what about if I had a stroke?", "I had a stroke last year is it ok"],
        ["who should not take ketamine?", "what are the contraindications"],
        ["thank you", "thanks, bye"],
    ],
    [  # depression, speed, how long it lasts
        ["can ketamine help with depression?", "does ketamine work for depression"],
        ["how fast does it work?", "how quickly will i feel better"],
        ["how long do the effects last?", "does the effect wear off"],
        ["do I need maintenance infusions?", "will i need booster sessions later"],
        ["thank you"],
    ],
    [  # money and logistics
        ["how much does it cost?", "how much is one infusion"],
        ["is it covered by insurance?", "will my insurance pay for it"],
        ["how do I get started?", "what's the first step to get treatment"],
        ["where are you located?", "do you have parking"],
        ["thanks", "cheers"],
    ],
    [  # medicines, then what a session is like
        ["I take xanax every night, is that a problem?", "i'm on adderall, is that ok"],
        ["what happens during a session?", "what is a session like"],
        ["will I be monitored?", "does someone stay with me the whole time"],
        ["can I drive home after?", "can i drive myself home after the infusion"],
        ["ok thanks"],
    ],
    [  # the sceptic
        ["are you a bot?", "am i talking to a real person"],
        ["is ketamine the party drug special k?", "isnt ketamine a horse tranquilizer"],
        ["is it legal?", "is ketamine therapy legal in the us"],
        ["what is esketamine?", "what is the difference between esketamine and ketamine"],
        ["goodbye", "bye"],
    ],
]

# Intent sequences of the starter bot's own stories and rules.
INIT_FLOWS: List[List[str]] = [
    ["greet", "mood_great", "goodbye"],
    ["greet", "mood_unhappy", "affirm", "goodbye"],
    ["greet", "mood_unhappy", "deny"],
    ["greet", "bot_challenge", "mood_great", "goodbye"],
    ["bot_challenge", "greet", "mood_unhappy", "affirm", "bot_challenge", "goodbye"],
]


@dataclass(frozen=True)
class Conversations:
    scripts: Sequence[Script]
    # The message sent at the turns where latency against conversation length is read: the
    # same message at turn 1 and turn 100, so the figure measures length, not message mix.
    probe: str = ""

    def pick(self, rng: random.Random) -> List[str]:
        """One visitor's conversation: a seeded script, a seeded wording of each turn."""
        script = rng.choice(self.scripts)
        return [rng.choice(turn) for turn in script]

    def long(self, turns: int, probe_turns: Collection[int] = ()) -> List[str]:
        """One conversation of `turns` messages: every script's first wordings, cycled, with
        the probe message at `probe_turns` (1-based)."""
        flat = [turn[0] for script in self.scripts for turn in script]
        texts = list(islice(cycle(flat), turns))
        for turn in probe_turns:
            if 1 <= turn <= turns and self.probe:
                texts[turn - 1] = self.probe
        return texts


def intent_examples(nlu_file: Path) -> Dict[str, List[str]]:
    """{intent: examples} of a Rasa NLU YAML file."""
    data = yaml.safe_load(nlu_file.read_text(encoding="utf-8"))
    examples: Dict[str, List[str]] = {}
    for block in data.get("nlu", []):
        if "intent" in block:
            lines = [line.strip()[2:].strip() for line in block["examples"].splitlines()
                     if line.strip().startswith("- ")]
            examples.setdefault(block["intent"], []).extend(lines)
    return examples


def ours() -> Conversations:
    # An FAQ answer: NLU, the rule, the action server and the referral, like most turns.
    return Conversations(OURS, probe="how many sessions will I need?")


def rasa_init(nlu_file: Path) -> Conversations:
    """The starter bot's conversations: its flows, each turn any example of the intent."""
    examples = intent_examples(nlu_file)
    missing = {i for flow in INIT_FLOWS for i in flow} - set(examples)
    if missing:
        raise ValueError(f"{nlu_file} has no examples for {sorted(missing)}")
    return Conversations([[examples[intent] for intent in flow] for flow in INIT_FLOWS],
                         probe=examples["mood_great"][0])
