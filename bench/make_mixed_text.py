"""Writes a mixed-text file of about SIZE megabytes (default 10) for bench/tokenize.sh: English-like
prose, code, URLs, numbers, accented Latin, Cyrillic, CJK and emoji, in lines of 40-400 characters.
Seeded and made on demand (never committed). Standard library only."""
import random
import sys

out, size = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
rng = random.Random(18)
words = ("the of and to in is was for that with as on by at from this be are have it not or an which "
         "model token weights tensor layer convert verify python swift rust function return value data "
         "international understanding running jumped happily café naïve résumé über straße").split()
other = ["привет", "мир", "данные", "日本語", "中文文本", "テキスト", "한국어", "😀", "👍🏽", "👨\u200d👩\u200d👧",
         "3.14159", "2024-05-17", "1,000,000", "https://example.com/a?b=c&d=e", "user@example.org",
         "def f(x):", "return x**2;", "{a[i] = b[i] * 2;}", "I'm", "don't", "they'll"]
target = int(size * 1e6)
n = 0
with open(out, "w", encoding="utf-8") as f:
    while n < target:
        parts = []
        for _ in range(rng.randint(6, 60)):
            w = rng.choice(other) if rng.random() < 0.12 else rng.choice(words)
            if rng.random() < 0.1:
                w = w.capitalize()
            parts.append(w)
            if rng.random() < 0.08:
                parts.append(rng.choice([",", ".", "!", "?", ";", ":"]))
        line = " ".join(parts) + "\n"
        f.write(line)
        n += len(line.encode("utf-8"))
