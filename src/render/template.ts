// Fills `{{name}}` placeholders in the templates under assets/. A placeholder without a value is a bug
// in the renderer, so it throws instead of leaving the braces in a file that would reach a host.
import { readAsset } from './assets.js';

export const fillTemplate = (template: string, values: Readonly<Record<string, string>>, source: string): string =>
  template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${source}: no value for {{${key}}}`);
    return value;
  });

export const renderAsset = (relative: string, values: Readonly<Record<string, string>>): string =>
  fillTemplate(readAsset(relative), values, `assets/${relative}`);
