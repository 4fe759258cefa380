// A `translate` service for bpmn-js: Simplified Chinese (bpmn-js-i18n's zn.js plus ours) or English.
import zn from 'bpmn-js-i18n/translations/zn';
import ours from './zh';

export function translateModule(locale, extra = {}) {
  const table = locale === 'en' ? {} : { ...zn, ...ours, ...extra };

  function translate(template, replacements) {
    const text = table[template] || template;
    return text.replace(/{([^{}]+)}/g, (whole, key) => (replacements && key in replacements ? replacements[key] : whole));
  }

  return { translate: [ 'value', translate ] };
}
