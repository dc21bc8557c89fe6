export * from './fusion-feeds';
export * from './timeline-fusion';
export * from './explain';
