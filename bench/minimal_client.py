"""The reference: the official ollama client printing each chunk to stdout, nothing else.
Usage: python bench/minimal_client.py HOST MODEL PROMPT

It prints `[ready]` once imported and waits for a line on stdin, so a benchmark can leave the
start-up out of what it measures."""

import sys

import ollama

host, model, prompt = sys.argv[1:4]
client = ollama.Client(host=host)
sys.stdout.write("[ready]\n")
sys.stdout.flush()
sys.stdin.readline()
for part in client.chat(model=model, messages=[{"role": "user", "content": prompt}], stream=True):
    sys.stdout.write(part.message.content)
    sys.stdout.flush()
sys.stdout.write("\n[done]\n")
sys.stdout.flush()
