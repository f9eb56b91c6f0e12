import type { SourceProblem } from '../../util/yaml-source.js';

/**
 * How the console checks and saves the config file it edits. config/ implements it (configWriter) and runtime/
 * hands it in: the console sits below config/, which assembles every feature's section.
 */
export interface ConfigWriter {
  /** The problems the text would have as the config file; none: it validates. */
  check(text: string): SourceProblem[];
  /** Replaces the file with the text, in one step, only if it validates; returns the problems otherwise (file unchanged). */
  write(text: string): SourceProblem[];
}
