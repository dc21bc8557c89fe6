export * from './onnx-builder';
export * from './contracts';
export * from './session';
export * from './verify';
export * from './pull';
export * from './tiny';
export * from './runners';
