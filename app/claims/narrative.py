"""The guided narrative of a claim (situation, task, actions, result, reflection, transfer) and its prompts.

The six parts follow the STARRT structure used by youth-work recognition tools: each one is optional, and the
claim shows how many are written.
"""

from flask_babel import lazy_gettext as _l

NARRATIVE_LABELS = {
    "situation": _l("Situation"),
    "task": _l("Task"),
    "actions": _l("Actions"),
    "result": _l("Result"),
    "reflection": _l("Reflection"),
    "transfer": _l("Transfer"),
}

NARRATIVE_PROMPTS = {
    "situation": _l("Where were you, when, with whom? Describe the context in a few sentences."),
    "task": _l("What was expected of you? What was the challenge or the problem to solve?"),
    "actions": _l("What did you do, yourself, step by step? Which methods, tools, partners?"),
    "result": _l("What happened as a result? Give facts and figures if you can."),
    "reflection": _l("What did you learn? What would you do differently next time?"),
    "transfer": _l("Where could you use this competence again: in which job, training or situation?"),
}
