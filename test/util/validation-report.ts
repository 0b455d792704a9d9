import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, AppProps } from 'aws-cdk-lib';

/** One violating construct of `cdk.out/validation-report.json`. */
export interface ReportConstruct {
  readonly constructPath: string;
}

/** A violation (or suppressed violation) of one plugin in `cdk.out/validation-report.json`. */
export interface ReportViolation {
  readonly ruleName: string;
  readonly description: string;
  readonly severity?: string;
  readonly violatingConstructs: ReportConstruct[];
  /** Suppressed violations only: the acknowledgement's reason and where it was made. */
  readonly reason?: string;
  readonly acknowledgedId?: string;
  readonly acknowledgedAt?: string;
}

export interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: string;
  readonly violations: ReportViolation[];
  readonly suppressedViolations?: ReportViolation[];
}

export interface SynthesizedReport {
  /** Whether `app.synth()` threw `ValidationFailed`. */
  readonly failed: boolean;
  readonly pluginReports: PluginReport[];
}

/**
 * Builds an app in a temporary cdk.out, synthesizes it (a `ValidationFailed` is recorded, not
 * thrown) and returns what `cdk.out/validation-report.json` says: the file reviewers keep.
 */
export function synthesizeReport(build: (app: App) => void, props: AppProps = {}): SynthesizedReport {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'validation-report-'));
  try {
    const app = new App({
      stackTraces: false,
      ...props,
      outdir,
      context: { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true, ...props.context },
    });
    build(app);
    let failed = false;
    try {
      app.synth();
    } catch (error) {
      if (!/ValidationFailed/.test(`${(error as Error).name} ${(error as Error).message}`)) {
        throw error;
      }
      failed = true;
    }
    const reportFile = path.join(outdir, 'validation-report.json');
    const pluginReports = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')).pluginReports as PluginReport[] : [];
    return { failed, pluginReports };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** `<rule> @ <construct path> : <reason>` for every suppressed violation of `plugin`. */
export function suppressedOf(report: SynthesizedReport, plugin: string): string[] {
  return (report.pluginReports.find((r) => r.pluginName === plugin)?.suppressedViolations ?? [])
    .flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath} : ${v.reason}`))
    .sort();
}
