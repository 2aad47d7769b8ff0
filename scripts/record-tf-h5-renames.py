"""Recorded Tests/Goldens/architectures/tf-h5-renames.json: what the regex versions of
mappings/hf-pt-to-tf-h5.json and hf-tf-h5-to-pt.json (308 and 87 rules, commit 6c2f6bd) did
to the fixture tensor names, applying the rules as Porter's engine does (first full match
wins, `when` on config keys, $N captures). Kept to show how the golden was made; it reads
regex rules only, so run it against that commit's mappings:

    git worktree add /tmp/old 6c2f6bd && python3 scripts/record-tf-h5-renames.py /tmp/old
"""
import json, re, struct, sys
root = sys.argv[1]
def st_names(p):
    with open(p,'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n))
    return sorted(k for k in h if k != '__metadata__')
def load(name):
    return json.load(open(f'{root}/mappings/{name}.json'))
def apply(m, names, config):
    out = {}
    rules = [r for r in m['rules'] if all(config.get(k.split('.',1)[1]) == v for k, v in r.get('when', {}).items())]
    for n in names:
        res = None
        for r in rules:
            mt = re.fullmatch(r['match'], n)
            if mt is None: continue
            caps = [mt.group(0)] + [g or '' for g in mt.groups()]
            if 'drop' in r: res = {'drop': True}
            else:
                t = re.sub(r'\$(\d)', lambda x: caps[int(x.group(1))] if int(x.group(1)) < len(caps) else x.group(0), r['rename'])
                res = {'to': t, 'transpose': r.get('transpose')}
            break
        out[n] = res  # None: unmapped
    return out
hdf5 = json.load(open(f'{root}/fixtures/hdf5/expected.json'))
tf_names = sorted(hdf5['tf_bert_pt_names'])
pt_names = sorted(v['pt'] for v in hdf5['tf_bert_pt_names'].values())
cases = []
def case(label, mapping, names, config):
    cases.append({'case': label, 'mapping': mapping, 'config': config, 'renames': apply(load(mapping), names, config)})
case('hdf5/tf_bert_tiny TF names', 'hf-tf-h5-to-pt', tf_names, {})
case('hdf5/tf_bert_tiny names in PyTorch (bert. prefix)', 'hf-pt-to-tf-h5', pt_names + ['bert.embeddings.position_ids'], {})
case('hdf5/tf_bert_tiny names in PyTorch with roberta. prefix', 'hf-pt-to-tf-h5', [n.replace('bert.', 'roberta.', 1) for n in pt_names], {})
for fam in ['bert', 'roberta']:
    names = st_names(f'{root}/fixtures/architectures/{fam}/model.safetensors')
    case(f'architectures/{fam} (unprefixed, model_type {fam})', 'hf-pt-to-tf-h5', names, {'model_type': fam})
    case(f'architectures/{fam} (unprefixed, no model_type)', 'hf-pt-to-tf-h5', names, {})
print(json.dumps({'recorded_from': 'mappings/hf-pt-to-tf-h5.json and mappings/hf-tf-h5-to-pt.json as regex rules (commit 6c2f6bd), first matching rule wins', 'cases': cases}, indent=1, sort_keys=True))
