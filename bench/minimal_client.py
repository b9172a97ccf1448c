"""The reference: the official ollama client printing each chunk to stdout, nothing else.
Usage: python bench/minimal_client.py HOST MODEL PROMPT"""

import sys

import ollama

host, model, prompt = sys.argv[1:4]
client = ollama.Client(host=host)
for part in client.chat(model=model, messages=[{"role": "user", "content": prompt}], stream=True):
    sys.stdout.write(part.message.content)
    sys.stdout.flush()
sys.stdout.write("\n[done]\n")
sys.stdout.flush()
