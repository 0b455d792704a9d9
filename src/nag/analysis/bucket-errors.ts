/** Thrown by analysis helpers when a value a rule needs cannot be known at synth time. */
export class UnresolvableValue extends Error {}
