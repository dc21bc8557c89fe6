#!/usr/bin/env python3
"""Reference values for packages/eval's MMSA metric port.

Follows thuiar/MMSA src/MMSA/utils/metricsTop.py (__eval_mosei_regression, __eval_sims_regression) line for line
on float32 arrays, with NumPy only: sklearn's accuracy_score and f1_score(average='weighted') are re-derived
below from their definitions, so no sklearn install is needed.

Usage (from the repo root):
  python3 packages/eval/scripts/mmsa_reference.py            # (re)compute expected.json from the committed CSVs
  python3 packages/eval/scripts/mmsa_reference.py --fixtures # also regenerate the CSV fixtures (seeded)
"""
import csv
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'test', 'fixtures', 'mmsa')

# name -> dataset function
CASES = {
    'mosei_edges': 'mosei',
    'mosei_random': 'mosei',
    'mosei_constant_pred': 'mosei',
    'sims_edges': 'sims',
    'sims_random': 'sims',
}


def accuracy_score(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    return np.average(a == b)


def f1_weighted(y_true, y_pred):
    """sklearn f1_score(average='weighted'): per-class 2tp/(support+predicted), weighted by support."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred]))
    f = np.zeros(len(labels), dtype=np.float64)
    support = np.zeros(len(labels), dtype=np.int64)
    for k, c in enumerate(labels):
        t = y_true == c
        p = y_pred == c
        tp = int(np.sum(t & p))
        support[k] = int(np.sum(t))
        denom = int(np.sum(t)) + int(np.sum(p))
        f[k] = 0.0 if denom == 0 else (2 * tp) / denom
    if support.sum() == 0:
        return 0.0
    return np.average(f, weights=support)


def multiclass_acc(y_pred, y_true):
    return np.sum(np.round(y_pred) == np.round(y_true)) / float(len(y_true))


def eval_mosei_regression(test_preds, test_truth):
    test_preds_a7 = np.clip(test_preds, a_min=-3., a_max=3.)
    test_truth_a7 = np.clip(test_truth, a_min=-3., a_max=3.)
    test_preds_a5 = np.clip(test_preds, a_min=-2., a_max=2.)
    test_truth_a5 = np.clip(test_truth, a_min=-2., a_max=2.)
    mae = np.mean(np.absolute(test_preds - test_truth)).astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        corr = np.corrcoef(test_preds, test_truth)[0][1]
    mult_a7 = multiclass_acc(test_preds_a7, test_truth_a7)
    mult_a5 = multiclass_acc(test_preds_a5, test_truth_a5)
    non_zeros = np.array([i for i, e in enumerate(test_truth) if e != 0])
    non_zeros_binary_truth = (test_truth[non_zeros] > 0)
    non_zeros_binary_preds = (test_preds[non_zeros] > 0)
    non_zeros_acc2 = accuracy_score(non_zeros_binary_preds, non_zeros_binary_truth)
    non_zeros_f1_score = f1_weighted(non_zeros_binary_truth, non_zeros_binary_preds)
    binary_truth = (test_truth >= 0)
    binary_preds = (test_preds >= 0)
    acc2 = accuracy_score(binary_preds, binary_truth)
    f_score = f1_weighted(binary_truth, binary_preds)
    return {
        'Has0_acc_2': acc2,
        'Has0_F1_score': f_score,
        'Non0_acc_2': non_zeros_acc2,
        'Non0_F1_score': non_zeros_f1_score,
        'Mult_acc_5': mult_a5,
        'Mult_acc_7': mult_a7,
        'MAE': mae,
        'Corr': corr,
    }


def eval_sims_regression(test_preds, test_truth):
    test_preds = np.clip(test_preds, a_min=-1., a_max=1.)
    test_truth = np.clip(test_truth, a_min=-1., a_max=1.)

    def binned(a, ms):
        out = a.copy()
        for i in range(len(ms) - 1):
            out[np.logical_and(a > ms[i], a <= ms[i + 1])] = i
        return out

    ms_2 = [-1.01, 0.0, 1.01]
    ms_3 = [-1.01, -0.1, 0.1, 1.01]
    ms_5 = [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01]
    test_preds_a2, test_truth_a2 = binned(test_preds, ms_2), binned(test_truth, ms_2)
    test_preds_a3, test_truth_a3 = binned(test_preds, ms_3), binned(test_truth, ms_3)
    test_preds_a5, test_truth_a5 = binned(test_preds, ms_5), binned(test_truth, ms_5)
    mae = np.mean(np.absolute(test_preds - test_truth)).astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        corr = np.corrcoef(test_preds, test_truth)[0][1]
    return {
        'Mult_acc_2': multiclass_acc(test_preds_a2, test_truth_a2),
        'Mult_acc_3': multiclass_acc(test_preds_a3, test_truth_a3),
        'Mult_acc_5': multiclass_acc(test_preds_a5, test_truth_a5),
        'F1_score': f1_weighted(test_truth_a2, test_preds_a2),
        'MAE': mae,
        'Corr': corr,
    }


def read_case(name):
    preds, labels = [], []
    with open(os.path.join(FIXTURES, name + '.csv'), newline='') as fh:
        for row in csv.DictReader(fh):
            preds.append(float(row['prediction']))
            labels.append(float(row['label']))
    # MMSA's tensors are float32 by the time metricsTop sees them.
    return np.array(preds).astype(np.float32), np.array(labels).astype(np.float32)


def as_json(v):
    v = float(v)
    return None if math.isnan(v) else v


def write_case(name, preds, labels):
    with open(os.path.join(FIXTURES, name + '.csv'), 'w', newline='') as fh:
        w = csv.writer(fh, lineterminator='\n')
        w.writerow(['id', 'prediction', 'label'])
        for i, (p, l) in enumerate(zip(preds, labels)):
            w.writerow([f'{name}/{i:04d}', repr(float(p)), repr(float(l))])


def make_fixtures():
    rng = np.random.default_rng(20240611)
    # MOSEI edges: halves (round-half-to-even), exact zeros (Has0 vs Non0), beyond-range clipping.
    me_labels = [0.0, 0.0, 0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, -3.0, 0.3333, -0.3333, 1.6667, -2.3333,
                 0.1667, 0.8333, 1.1667, 2.0, -2.0, 1.0, -1.0, 0.6667, -0.6667, 0.0, 1.3333, -0.1667, 2.6667]
    me_preds = [0.0, -0.0001, 0.0001, 0.5, -0.5, 2.5, -2.5, 3.7, -4.2, 2.5, -3.5, 0.0, 0.4999, 1.5, -2.5,
                -0.2, 0.7, 1.49, 1.51, -1.5, 0.5, -0.5000001, 0.6, -0.0, 0.2, 1.3333, 0.1667, 2.9]
    write_case('mosei_edges', me_preds, me_labels)
    n = 1000
    grid = np.round(rng.integers(-9, 10, n) / 3.0, 4)
    grid[rng.random(n) < 0.2] = 0.0
    halves = rng.random(n) < 0.03
    grid[halves] = rng.choice([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], int(halves.sum()))
    preds = np.round(grid * 0.6 + rng.normal(0, 0.9, n), 6)
    preds[rng.random(n) < 0.02] = 0.0
    write_case('mosei_random', preds, grid)
    write_case('mosei_constant_pred', [0.25] * 12, [(-1) ** i * (i % 4) / 3.0 for i in range(12)])
    # SIMS edges: the float32-compared bin edges ±0.1, ±0.7, 0, clipping beyond ±1, and the odd −0.1 label.
    se_labels = [-1.0, -0.8, -0.6, -0.4, -0.2, -0.1, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.0, -0.1, 0.1, 0.7, -0.7,
                 0.6, -0.6, 1.0, -1.0, 0.2, 0.0, 0.4]
    se_preds = [-1.5, -0.7, -0.70000001, -0.1, -0.10000000149, 0.1, 0.0, 0.1000000015, 0.69999999, 0.7, 1.2, 0.99,
                -0.0, -0.09999999, 0.10000001, 0.70000002, -0.69999999, 0.0, 0.0, 1.01, -1.01, -0.05, 0.05, 0.3]
    write_case('sims_edges', se_preds, se_labels)
    n = 700
    labels = np.round(rng.integers(-5, 6, n) * 0.2, 1)
    labels[5] = -0.1
    preds = np.round(np.clip(labels * 0.7 + rng.normal(0, 0.35, n), -1.3, 1.3), 5)
    preds[rng.random(n) < 0.03] = 0.1
    preds[rng.random(n) < 0.03] = -0.7
    write_case('sims_random', preds, labels)


def main():
    if '--fixtures' in sys.argv:
        os.makedirs(FIXTURES, exist_ok=True)
        make_fixtures()
    expected = {'_source': 'packages/eval/scripts/mmsa_reference.py, numpy ' + np.__version__, 'cases': {}}
    for name, dataset in CASES.items():
        preds, labels = read_case(name)
        fn = eval_mosei_regression if dataset == 'mosei' else eval_sims_regression
        raw = fn(preds, labels)
        expected['cases'][name] = {
            'dataset': dataset,
            'n': int(len(labels)),
            # MMSA returns round(numpy_scalar, 4), which is np.round (multiply, rint, divide).
            'rounded': {k: as_json(round(v, 4)) for k, v in raw.items()},
            'raw': {k: as_json(v) for k, v in raw.items()},
        }
    with open(os.path.join(FIXTURES, 'expected.json'), 'w') as fh:
        json.dump(expected, fh, indent=2, sort_keys=True)
        fh.write('\n')
    print('wrote', os.path.relpath(os.path.join(FIXTURES, 'expected.json')))


if __name__ == '__main__':
    main()
