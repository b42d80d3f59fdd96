"""The router's reasons are true for the prompt, the task is told from pasted material,
and length is counted fairly in every script."""

from __future__ import annotations

import pytest

from assistant.chat.router import LocalModelInfo, RouteDecision, assess
from assistant.chat.router_features import text_features
from assistant.chat.router_material import split, word_count
from assistant.chat.router_reasons import FALLBACK, PHRASES

TINY = LocalModelInfo("Gemma 3 1B", 1.0, 8192)

SQL = """select c.id, c.name, sum(i.amount) as billed, count(distinct i.id) as invoices
from customers c
join invoices i on i.customer_id = c.id
where i.issued_on >= '2024-07-01' and i.state <> 'void' and c.region in ('north', 'west')
group by c.id, c.name
having sum(i.amount) > 1000
order by billed desc;"""
LEAFLET = ("Swallow the capsule whole with water. Adults and children over 12: one capsule every 8 hours. "
           "Do not exceed three capsules a day. Do not use if you are pregnant or breastfeeding unless a "
           "doctor advises it. Side effects may include drowsiness, dry mouth and, rarely, an allergic rash.")


def keys(prompt: str) -> list[str]:
    return assess(prompt, [], TINY).reason_keys[:3]


# ---------------------------------------------------------------- each reason, must and must not

MUST = [
    ("math", "A tank holds 450 litres and leaks 3.5 litres an hour while a tap adds 12 litres an hour. "
             "How long until it holds 900 litres?"),
    ("math", "What's 48 x 73?"),
    ("math", "Solve x^2 - 5x + 6 = 0."),
    ("proof", "Prove that the square root of 5 is irrational."),
    ("puzzle", "Riddle: a man pushes his car to a hotel and tells the owner he is bankrupt. Why?"),
    ("letters", "How many letters 'n' are in 'announcement'?"),
    ("fact", "Who was the mayor of Ghent in 1923?"),
    ("analysis", "Analyse the causes of the 1970s oil crisis and evaluate the policy responses of three countries."),
    ("long_answer", "Write a 5,000-word essay on the history of glassmaking."),
    ("code_task", "Implement a lock-free ring buffer in C++ with unit tests."),
    ("debug", 'Traceback (most recent call last):\n  File "run.py", line 3, in <module>\n'
              "    x = int(value)\nValueError: invalid literal for int() with base 10: 'abc'\nfix?"),
    ("medical", "I take lithium and my doctor added an ACE inhibitor. Should I worry about my kidneys?"),
    ("legal", "My employer in Spain cut my salary without notice; is that legal and can I claim it back?"),
    ("script", "ስለ ላሊበላ ታሪክ በዝርዝር ንገረኝ።"),
    # a quantity asked in other words than "how much"
    ("math", "A gardener has 180 m of edging and wants the largest rectangular bed along a fence. "
             "What dimensions, and what area?"),
    ("math", "After a 25% discount a coat costs 67.50. What was the original price?"),
    ("letters", "Give me a 9-letter word that starts with the letter Q."),
    ("puzzle", "Six friends sit at a round table. Ana sits opposite Bo, Bo sits next to Cy, and Di sits "
               "between Ed and Flo. Who sits next to Ana?"),
]


@pytest.mark.parametrize(("key", "prompt"), MUST)
def test_a_reason_is_given_when_its_evidence_is_there(key: str, prompt: str) -> None:
    assert key in keys(prompt), (key, assess(prompt, [], TINY).reasons)


MUST_NOT = [
    # the wrong reasons
    ("math", "whats 12 x 12"),
    ("reasoning", "give me 5 cute names for a golden retriever puppy"),
    ("math", "Translate this sentence into Portuguese: the shop opens at 9 and closes at 5."),
    ("medical", f"Reformat this into bullet points:\n\n{LEAFLET}"),
    ("long_request", "Привет! Посоветуй какой-нибудь лёгкий фильм на вечер."),
    ("long_input", "Привет! Посоветуй какой-нибудь лёгкий фильм на вечер."),
    # more of the same kind
    ("math", "What is 7 times 8?"),
    ("math", "Give me 3 tips for sleeping better."),
    ("math", "Why does `0.1 + 0.2 == 0.3` fail in JavaScript?"),
    ("reasoning", "List 10 fruits that are red."),
    ("medical", f"Translate into French:\n\n{LEAFLET}"),
    ("legal", "Turn this into a bullet list: sign the lease, pay the deposit, book the movers, change the address."),
    ("long_input", f"Uppercase the SQL keywords in this query:\n\n{SQL}"),
    ("code", f"Uppercase the SQL keywords in this query:\n\n{SQL}"),
    ("tech", f"What is the value of the region filter in this query?\n\n{SQL}"),
    ("long_request", "推荐一部适合周末看的轻松电影，最好是喜剧。"),
    ("financial", "Explain what an index fund is in one sentence."),
    ("medical", "Write a Rust function that walks an AST and folds constant expressions."),
    ("long_request", "कोई हल्की-फुल्की फ़िल्म बताइए जो आज रात परिवार के साथ देख सकें।"),
    # a "cover letter" is no letter-level task, "exactly 150 words" is no fact to look up
    ("letters", "Write a cover letter for a nursing job that is exactly 150 words and never uses 'passion'."),
    ("fact", "Write a cover letter for a nursing job that is exactly 150 words and never uses 'passion'."),
    # the words of a sentence to translate are not constraints of the request
    ("constraints", "Translate into Hausa: 'Wash your hands before eating and after using the toilet, every time.'"),
    # "and write tests" is not a chain of reasoning
    ("reasoning", "Implement a thread-safe LRU cache in Kotlin with expiry and write unit tests for it."),
    ("long_request", "Привет! Подскажи, что почитать в отпуске, что-нибудь лёгкое?"),
    ("long_request", "你好，帮我写一句生日祝福。"),
    # an edit of "a paragraph from my essay" asks for no long answer (seen in the one look at
    # test3: a reason only, the decision is the same)
    ("long_answer", "Here is a paragraph of my essay. Just change 'impact' to 'effect' everywhere:\n\n"
                    + "The impact of the new policy was clear, and its impact on prices lasted. " * 4),
]


@pytest.mark.parametrize(("key", "prompt"), MUST_NOT)
def test_a_reason_is_not_given_without_its_evidence(key: str, prompt: str) -> None:
    assert key not in assess(prompt, [], TINY).reason_keys


def test_every_reason_has_a_phrase_and_the_fallback_invents_nothing() -> None:
    assert {k for k, _ in MUST} <= set(PHRASES)
    # a hard decision whose reasons all lack evidence says so plainly
    d = assess("Describe the smell of rain to someone who has never smelled anything, in a "
               "way that a child and a chemist would both accept.", [], TINY, shift=-20.0)
    assert d.hard
    if not d.reasons:
        assert d.reason.endswith(f"it {FALLBACK}.")
    else:
        assert d.reason.endswith(d.reasons[0] + ".") or d.reasons[0] in d.reason


def test_reasons_are_ranked_by_their_weight_in_this_decision() -> None:
    from assistant.chat.router_model import load_weights
    from assistant.chat.router_reasons import explain

    prompt = ("My father takes warfarin and was prescribed 500 mg ciprofloxacin twice a day for 7 days; "
              "prove to me with numbers how much the interaction raises his INR, step by step.")
    f = text_features(prompt)
    ranked = explain(load_weights().structural.model("1B").contributions(f), prompt, f)
    assert len(ranked) >= 2
    assert [r.weight for r in ranked] == sorted((r.weight for r in ranked), reverse=True)
    assert assess(prompt, [], TINY).reason_keys == [r.key for r in ranked]


# ---------------------------------------------------------------- the task, not the material

def test_pasted_code_is_material_and_the_instruction_is_judged() -> None:
    parts = split(f"Uppercase the SQL keywords in this query, change nothing else:\n\n{SQL}")
    assert parts.instruction == "Uppercase the SQL keywords in this query, change nothing else:"
    assert "group by" in parts.material and parts.code_like
    fenced = split(f"Which table is joined here?\n```sql\n{SQL}\n```")
    assert fenced.instruction == "Which table is joined here?" and fenced.code_like


def test_pasted_prose_after_a_short_request_is_material() -> None:
    parts = split(f"Put this into a bulleted list:\n\n{LEAFLET}")
    assert parts.instruction == "Put this into a bulleted list:" and parts.material == LEAFLET
    assert not parts.code_like
    quoted = split(f'Fix the typo in this sentence: "{LEAFLET}"')
    assert quoted.instruction.startswith("Fix the typo") and LEAFLET in quoted.material


INVOICE = ("Thanks again for choosing us for the spring shoot. Please find attached invoice INV-2025-0418 for the "
           "work completed between 3 and 11 April. The total is 2,840.00 EUR, payable within 30 days.")
GIT_LOG = "\n\n".join(f"commit {h * 40}\nAuthor: Lina Haddad <lina@example.dev>\nDate:   Thu Jul 10 16:42:11 2025 +0200\n\n"
                      f"    {msg}" for h, msg in (("a", "Fix timezone handling in the weekly report"), ("b", "Bump")))


def test_the_lines_around_a_pasted_letter_are_the_letter_and_a_question_first_asks() -> None:
    parts = split(f"When is this invoice due?\n\nSubject: Invoice INV-2025-0418\n\nHi Daniel,\n\n{INVOICE}\n\nPriya")
    assert parts.instruction == "When is this invoice due?\n\nPriya"  # a line after the letter is not inside it
    assert "Subject: Invoice" in parts.material and "Hi Daniel" in parts.material and INVOICE in parts.material
    assert text_features(parts.instruction)["numbers"] == 0  # the invoice's figures are not the ask's
    # a git log is material, and the question before it asks even though the last line is shorter
    log = split(f"Who made the most recent commit here?\n\n{GIT_LOG}")
    assert log.instruction.startswith("Who made the most recent commit here?") and "Author: Lina" in log.material
    assert "commit aaaa" in log.material and log.code_like


@pytest.mark.parametrize("prompt", [
    f"Set \"debug\" to false in this settings file and give it back:\n\n{SQL}",
    f"Pin requests to 2.32.3 in this file, leave the rest:\n\n{SQL}",
    f"Напиши с большой буквы все формы «вы» в этом письме, больше ничего не меняй:\n\n{LEAFLET}",
])
def test_small_edits_of_pasted_material_are_edits(prompt: str) -> None:
    assert text_features(prompt)["edit"] == 1.0


def test_a_long_request_without_material_stays_a_request() -> None:
    text = ("I am planning a three-week trip through Patagonia in March with my two teenagers. We like "
            "hiking but not camping, we cannot drive, and the budget is tight. Which route, which towns, "
            "how many nights in each, and how do we get between them by bus?")
    parts = split(text)
    assert parts.instruction == text and parts.material == ""


def test_an_easy_edit_of_long_material_is_easy_and_a_real_task_on_it_is_hard() -> None:
    assert not assess(f"Uppercase the SQL keywords in this query, change nothing else:\n\n{SQL}", [], TINY).hard
    assert not assess(f"What is the value of the having threshold in this query?\n\n{SQL}", [], TINY).hard
    hard = assess(f"This query takes 40 s on 30 million invoices. Rewrite it for speed and say "
                  f"which indexes to add and why:\n\n{SQL}", [], TINY)
    assert hard.hard


# ---------------------------------------------------------------- length in every script

@pytest.mark.parametrize(("text", "words"), [
    ("hello there, how are you", 5),
    ("Привет! Посоветуй какой-нибудь лёгкий фильм на вечер.", 7),
    ("推荐一部轻松的电影。", 4),
    ("आज रात के खाने में क्या बनाऊँ?", 7),
])
def test_words_are_counted_per_script_not_per_byte(text: str, words: int) -> None:
    assert abs(word_count(text) - words) <= 1


def test_short_non_latin_prompts_are_short() -> None:
    for prompt in ("Привет! Посоветуй какой-нибудь лёгкий фильм на вечер.", "推荐一部轻松的电影。",
                   "मुझे कोई अच्छी किताब बताओ।", "ما هو أفضل وقت لزيارة المغرب؟"):
        f = text_features(prompt)
        assert f["length"] < text_features("Please recommend a light film for this evening, thanks.")["length"] + 0.15
        d: RouteDecision = assess(prompt, [], TINY)
        assert not d.hard, prompt


def test_a_comma_run_that_is_almost_csv_does_not_blow_up() -> None:
    import time

    start = time.perf_counter()
    assess("Tidy this:\n\n" + "ab," * 60 + " x", [], TINY)  # nested quantifiers would take hours here
    assert time.perf_counter() - start < 1.0
