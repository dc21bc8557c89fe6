#!/usr/bin/env python3
"""Reference fixtures for packages/features tests, computed from the PUBLISHED recipes (numpy only).

Run from the repository root (needs ../shared for the real-asset fixtures; synthetic ones need nothing):

    python3 scripts/reference/make_feature_refs.py [--shared ../shared] [--out packages/features/test/fixtures]

It writes (all small; total < 800 KB):
  logmel_<name>.npy   float32 [n_mels, 3000/STEP]: Whisper log-mel (openai/whisper audio.py recipe,
                      torch.stft(center=True, pad_mode='reflect', periodic Hann) re-done with numpy.fft),
                      keeping every STEP-th frame. Names: sine1k (synthetic), jfk, zh (real speech).
  logmel_<name>_frames.npy  float64 [2, 3000]: per-frame sum and max over the 128 bins, all frames.
  image_<name>.npy    uint8 [224/2, 224/2, 3]: RGB resized to 224x224 with PIL's BICUBIC algorithm
                      (Keys a=-0.5, antialiased support for downscale, 22-bit fixed-point coefficients,
                      horizontal pass then vertical, uint8 between passes), keeping every 2nd row/col.
                      Names: grad (synthetic, formula shared with the Node test), happy, sad1 (PNG decoded
                      here with zlib, independently of sharp).
  bert_ids.json       ids from google-research/bert tokenization.py (BasicTokenizer + WordpieceTokenizer,
                      re-implemented below; max_input_chars_per_word=100 as in HF tokenizer.json) on the
                      real bert-base-uncased / bert-base-chinese vocab.txt.
  refs_meta.json      what was used (filter source, strides), read by the tests.

Mel filters: taken from ../shared/assets/whisper/mel_filters.npz when present (the published asset),
else recomputed with the librosa Slaney formula (recorded in refs_meta.json).
"""
import argparse
import json
import os
import struct
import sys
import unicodedata
import wave
import zlib

import numpy as np

N_FFT, HOP, N_SAMPLES, N_FRAMES, SR = 400, 160, 480000, 3000, 16000
MEL_STEP = 15
IMG_STEP = 2


# ----------------------------------------------------------------------------- Whisper log-mel

def slaney_mel(n_mels, sr=16000, n_fft=400):
    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        f_sp, min_log_hz = 200.0 / 3, 1000.0
        min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        f_sp, min_log_hz = 200.0 / 3, 1000.0
        min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fftfreqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


def log_mel(audio, filters):
    x = np.zeros(N_SAMPLES, dtype=np.float32)
    a = np.asarray(audio, dtype=np.float32)[:N_SAMPLES]
    x[: len(a)] = a
    xp = np.pad(x.astype(np.float64), (N_FFT // 2, N_FFT // 2), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    n_frames = 1 + (len(xp) - N_FFT) // HOP  # 3001; whisper drops the last
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    spec = np.fft.rfft(xp[idx] * window[None, :], axis=1)  # exact length-400 DFT
    power = (np.abs(spec) ** 2).T[:, :-1]  # [201, 3000]
    mel = filters.astype(np.float64) @ power
    lg = np.log10(np.maximum(mel, 1e-10))
    lg = np.maximum(lg, lg.max() - 8.0)
    return ((lg + 4.0) / 4.0).astype(np.float32)


def read_wav_pcm16_mono(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, path
        assert w.getframerate() == SR, f"{path}: resample to 16 kHz first"
        ch = w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, ch).mean(axis=1).astype(np.float32)


def sine1k():
    # Same formula in test/mel.test.ts: 5 s of 0.5*sin(2*pi*1000*t), float32.
    n = np.arange(5 * SR, dtype=np.float64)
    return (0.5 * np.sin(2 * np.pi * 1000.0 * n / SR)).astype(np.float32)


# ----------------------------------------------------------------------------- PIL BICUBIC resize

PRECISION_BITS = 32 - 8 - 2


def bicubic_filter(x, a=-0.5):
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def pil_coeffs(in_size, out_size):
    """Pillow src/libImaging/Resample.c precompute_coeffs + normalize_coeffs_8bpc."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    rows = []
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        ss = 1.0 / filterscale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        k = [bicubic_filter((x + xmin - center + 0.5) * ss) for x in range(xmax - xmin)]
        ww = sum(k)
        k = [v / ww if ww != 0 else v for v in k]
        kk = [int(-0.5 + v * (1 << PRECISION_BITS)) if v < 0 else int(0.5 + v * (1 << PRECISION_BITS)) for v in k]
        rows.append((xmin, np.array(kk, dtype=np.int64)))
    return rows


def pil_resample_axis(img, out_size, axis):
    """One 8-bit pass along `axis` (1 = horizontal, 0 = vertical) with Pillow's rounding and clipping."""
    img = np.moveaxis(img.astype(np.int64), axis, 0)
    out = np.empty((out_size,) + img.shape[1:], dtype=np.uint8)
    for i, (xmin, kk) in enumerate(pil_coeffs(img.shape[0], out_size)):
        acc = np.full(img.shape[1:], 1 << (PRECISION_BITS - 1), dtype=np.int64)
        acc += np.tensordot(kk, img[xmin: xmin + len(kk)], axes=(0, 0))
        out[i] = np.clip(acc >> PRECISION_BITS, 0, 255)
    return np.moveaxis(out, 0, axis)


def pil_bicubic_resize(rgb, w, h):
    # Checked once against real Pillow (Debian python3-pil 9.4.0, Image.resize(BICUBIC)) on 2026-11-27:
    # bit-identical on the gradient image, 4 sadtalker_expression PNGs and 3 fer2013 48x48 JPEGs
    # (down- and up-scaling). Pillow is not a dependency of this script, so the check is not rerun here.
    out = rgb
    if rgb.shape[1] != w:
        out = pil_resample_axis(out, w, 1)
    if rgb.shape[0] != h:
        out = pil_resample_axis(out, h, 0)
    return out


def read_png_rgb(path):
    """Minimal PNG decoder (8-bit RGB/RGBA, non-interlaced); alpha dropped like PIL convert('RGB')."""
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", path
    p, idat = 8, b""
    while p < len(b):
        (ln,) = struct.unpack(">I", b[p: p + 4])
        typ = b[p + 4: p + 8]
        body = b[p + 8: p + 8 + ln]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        p += 12 + ln
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (path, depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    img = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int64)
        cur = np.zeros(stride, dtype=np.int64)
        if f in (0, 2):
            cur = (line + (prev if f == 2 else 0)) & 0xFF
        else:
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                c = prev[x - bpp] if x >= bpp else 0
                up = prev[x]
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + up) >> 1
                else:  # Paeth
                    pp = a + up - c
                    pa, pb, pc = abs(pp - a), abs(pp - up), abs(pp - c)
                    pred = a if (pa <= pb and pa <= pc) else (up if pb <= pc else c)
                cur[x] = (line[x] + pred) & 0xFF
        img[y] = cur
        prev = cur
    return img.reshape(h, w, bpp)[:, :, :3].copy()


def gradient_image(w=300, h=200):
    # Same formula in test/image.test.ts; mixes a horizontal downscale (300->224) with a vertical upscale.
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.floor(x * 255 / (w - 1))
    g = np.floor(y * 255 / (h - 1))
    b = np.floor(127.5 + 127.5 * np.sin(0.21 * x) * np.cos(0.13 * y))
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


# ----------------------------------------------------------------------------- BERT (tokenization.py)

def load_vocab(path):
    # HF load_vocab semantics: one token per "\n"-separated line (U+2028 is a token, not a newline).
    toks = open(path, encoding="utf-8", newline="").read().split("\n")
    if toks and toks[-1] == "":
        toks.pop()
    return {t: i for i, t in enumerate(toks)}


def _is_whitespace(c):
    return c in (" ", "\t", "\n", "\r") or unicodedata.category(c) == "Zs"


def _is_control(c):
    return c not in ("\t", "\n", "\r") and unicodedata.category(c) in ("Cc", "Cf")


def _is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def _is_chinese_char(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, lower):
    text = "".join(" " if _is_whitespace(c) else c for c in text if not (ord(c) in (0, 0xFFFD) or _is_control(c)))
    text = "".join(f" {c} " if _is_chinese_char(ord(c)) else c for c in text)
    out = []
    for tok in text.strip().split():
        if lower:
            tok = tok.lower()
            tok = "".join(c for c in unicodedata.normalize("NFD", tok) if unicodedata.category(c) != "Mn")
        cur = []
        for c in tok:
            if _is_punctuation(c):
                if cur:
                    out.append("".join(cur))
                out.append(c)
                cur = []
            else:
                cur.append(c)
        if cur:
            out.append("".join(cur))
    return out


def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = ("##" if start > 0 else "") + word[start:end]
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


def bert_ids(text, vocab, lower):
    toks = ["[CLS]"] + [p for w in basic_tokenize(text, lower) for p in wordpiece(w, vocab)] + ["[SEP]"]
    return [vocab[t] for t in toks]


EN_SENTENCES = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Café naïve résumé façade coöperate.",
    "I can't believe it's not butter; they'd've known.",
    "Numbers: 3.14159, 1,000,000 and 42nd Street (est. 1999).",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a long word.",
    "supercalifragilisticexpialidocious" * 3 + " is over one hundred characters long.",
    "Emoji 😀🎉 and symbols ★ ☃ ♥ appear here.",
    "E-mail me at someone@example.com or visit https://example.org/path?q=1.",
    "UPPER lower MiXeD CaSe.",
    "Tabs\tand\nnewlines\r\nand   multiple   spaces.",
    "Quotes: “smart” ‘single’ «guillemets» and — dashes – too…",
    "Ångström, Øresund, Straße, Łódź, İstanbul.",
    "Mathematical: x^2 + y^2 = z^2, a<b>c, 50% off, $9.99, #hashtag, ~tilde, `code`, |pipe|.",
    "I'm feeling really happy today, but yesterday was sad.",
    "He said: \"Don't do that!\" and left.",
    "unaffable unbelievably antidisestablishmentarianism",
    "Greek ΟΔΟΣ and Cyrillic Привет мир.",
    "Zero\u200bwidth and soft\u00adhyphen and null\u0000char.",
    "Japanese カタカナ ひらがな and Korean 한국어 text.",
    "Line\u2028separator, no\u00a0break space and ideographic\u3000space.",
]

ZH_SENTENCES = [
    "你好，世界！",
    "今天天气很好，我们去公园散步吧。",
    "我爱北京天安门。",
    "他说：“这是一个测试。”",
    "我在2023年买了一台iPhone 15 Pro。",
    "请访问www.example.com了解更多信息。",
    "这个价格是￥199.99，打八折。",
    "我今天很开心😀，但是昨天很难过。",
    "ＡＢＣ全角字母和１２３全角数字。",
    "混合English和中文的句子，比如Hello世界。",
    "《红楼梦》是中国古典小说之一；你读过吗？",
    "他的名字叫张三（Zhang San），今年25岁。",
    "繁體中文：這是一個測試，說話很慢。",
    "温度是-5℃，风速10m/s。",
    "嗯……我不太确定——也许吧。",
]


# ----------------------------------------------------------------------------- main

def save(path, arr):
    np.save(path, arr)
    print(f"  {os.path.relpath(path)}  {os.path.getsize(path)} B")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "packages", "features", "test", "fixtures"))
    args = ap.parse_args()
    shared = args.shared if os.path.isdir(os.path.join(args.shared, "assets")) else None
    os.makedirs(args.out, exist_ok=True)
    meta = {"melStep": MEL_STEP, "imageStep": IMG_STEP, "numpy": np.__version__,
            "python": sys.version.split()[0], "unicodedata": unicodedata.unidata_version}

    npz = os.path.join(shared, "assets", "whisper", "mel_filters.npz") if shared else None
    if npz and os.path.exists(npz):
        filters = np.load(npz)["mel_128"]
        meta["melFilters"] = "mel_filters.npz:mel_128"
    else:
        filters = slaney_mel(128)
        meta["melFilters"] = "slaney formula (mel_filters.npz absent)"
    print("log-mel:")
    audio = {"sine1k": sine1k()}
    if shared:
        audio["jfk"] = read_wav_pcm16_mono(os.path.join(shared, "media", "en", "jfk.wav"))
        audio["zh"] = read_wav_pcm16_mono(os.path.join(shared, "media", "zh", "funasr_asr_example.wav"))
    for name, a in audio.items():
        full = log_mel(a, filters)
        save(os.path.join(args.out, f"logmel_{name}.npy"), np.ascontiguousarray(full[:, ::MEL_STEP]))
        # every frame, summarised (sum and max over the 128 bins, float64), so no column goes unchecked
        frames = np.stack([full.astype(np.float64).sum(axis=0), full.max(axis=0).astype(np.float64)])
        save(os.path.join(args.out, f"logmel_{name}_frames.npy"), np.ascontiguousarray(frames))

    print("images:")
    images = {"grad": gradient_image()}
    if shared:
        d = os.path.join(shared, "media", "images", "sadtalker_expression")
        images["happy"] = read_png_rgb(os.path.join(d, "happy.png"))
        images["sad1"] = read_png_rgb(os.path.join(d, "sad1.png"))
    for name, rgb in images.items():
        out = pil_bicubic_resize(rgb, 224, 224)
        save(os.path.join(args.out, f"image_{name}.npy"), np.ascontiguousarray(out[::IMG_STEP, ::IMG_STEP]))

    if shared:
        print("bert:")
        en_vocab = load_vocab(os.path.join(shared, "assets", "bert", "bert-base-uncased-vocab.txt"))
        zh_vocab = load_vocab(os.path.join(shared, "assets", "bert", "bert-base-chinese-vocab.txt"))
        ref = {
            "source": "google-research/bert tokenization.py algorithm (max_input_chars_per_word=100)",
            "english": [{"text": s, "ids": bert_ids(s, en_vocab, True)} for s in EN_SENTENCES],
            "chinese": [{"text": s, "ids": bert_ids(s, zh_vocab, True), "idsCased": bert_ids(s, zh_vocab, False)}
                        for s in ZH_SENTENCES],
        }
        p = os.path.join(args.out, "bert_ids.json")
        with open(p, "w", encoding="utf-8") as f:
            json.dump(ref, f, ensure_ascii=False, indent=1)
        print(f"  {os.path.relpath(p)}  {os.path.getsize(p)} B")
    else:
        print("bert: skipped (no ../shared vocab files)")

    with open(os.path.join(args.out, "refs_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
