export * from './seeded';
export * from './asr';
export * from './audio-emotion';
export * from './vision';
export * from './text';
export * from './fusion';
export * from './pack';
export * from './stand-in';
