/**
 * The asr worker reads audio.wav one window at a time through the shared reader (the audio-emotion
 * worker streams it the same way); the old name stays for this service's callers and tests.
 */
export { WavFileReader as WavFileSource } from '@omniaffect/features';
