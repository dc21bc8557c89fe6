import type { Command } from 'commander';
import * as path from 'node:path';
import { BertTokenizer, decodeAudioFile, logMelSpectrogram, preprocessImage, writeNpy, yinPitch } from '@omniaffect/features';

/**
 * `omniaffect features <kind> <input> --out file.npy`: the intermediate tensors the workers compute, as
 * .npy, so anyone can compare them with a Python reference (numpy.load).
 */
export function registerFeatureCommands(program: Command): void {
  program
    .command('features')
    .description('write an intermediate tensor as .npy (mel | tokens | pixels | waveform | prosody)')
    .argument('<kind>', 'mel | tokens | pixels | waveform | prosody')
    .argument('<input>', 'audio/video/image file, or the text for tokens')
    .requiredOption('--out <file>', 'output .npy')
    .option('--tokenizer <file>', 'tokenizer.json or vocab.txt (tokens)')
    .option('--max-length <n>', 'tokens: window length', '512')
    .action(async (kind: string, input: string, o: { out: string; tokenizer?: string; maxLength: string }) => {
      const out = path.resolve(o.out);
      switch (kind) {
        case 'mel': {
          const samples = await decodeAudioFile(path.resolve(input));
          const mel = logMelSpectrogram(samples.subarray(0, 480000));
          writeNpy(out, mel, [128, 3000]);
          console.log(`mel [128, 3000] float32 (first 30 s window of ${(samples.length / 16000).toFixed(2)} s) → ${out}`);
          break;
        }
        case 'tokens': {
          if (!o.tokenizer) throw new Error('tokens needs --tokenizer <tokenizer.json|vocab.txt>');
          const tok = BertTokenizer.fromFile(path.resolve(o.tokenizer));
          const windows = tok.encode(input, { maxLength: Number(o.maxLength) });
          const ids = windows[0].ids;
          writeNpy(out, BigInt64Array.from(ids.map((x) => BigInt(x))), [ids.length]);
          console.log(`tokens [${ids.length}] int64 (window 1 of ${windows.length}) → ${out}`);
          break;
        }
        case 'pixels': {
          const px = await preprocessImage(path.resolve(input), 224);
          writeNpy(out, px, [3, 224, 224]);
          console.log(`pixels [3, 224, 224] float32 → ${out}`);
          break;
        }
        case 'waveform': {
          const samples = await decodeAudioFile(path.resolve(input));
          writeNpy(out, samples, [samples.length]);
          console.log(`waveform [${samples.length}] float32 at 16000 Hz mono → ${out}`);
          break;
        }
        case 'prosody': {
          const samples = await decodeAudioFile(path.resolve(input));
          const y = yinPitch(samples, 16000);
          writeNpy(out, y.f0, [y.f0.length]);
          console.log(
            `prosody F0 [${y.f0.length}] float32 Hz (0 = unvoiced) at ${(1 / y.hopSeconds).toFixed(1)} frames/s (hop ${y.hopSeconds} s, frame ${y.frameSeconds} s) → ${out}`,
          );
          break;
        }
        default:
          throw new Error(`unknown kind ${kind}: use mel, tokens, pixels, waveform or prosody`);
      }
    });
}
