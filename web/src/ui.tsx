// Small shared components. Dialogs are Radix primitives (focus trap, Escape, aria wiring).
import * as Dialog from '@radix-ui/react-dialog';
import { useId, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';
import { session } from './api';

export function useSession() {
  return useSyncExternalStore(session.subscribe, session.get);
}

/** The signed-in user, or null. */
export function useUser() {
  const s = useSession();
  return s.status === 'signed-in' ? s.user : null;
}

export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  const text = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert" id={id}>
      {text}
    </p>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="secondary small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setDone(true),
          () => setDone(false),
        );
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

export function CopyField({ value, label }: { value: string; label: string }) {
  const id = useId();
  return (
    <div className="copy-field">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <input id={id} readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
      <CopyButton text={value} label={`Copy`} />
    </div>
  );
}

export function Field({
  label,
  children,
  hint,
}: {
  label: string;
  children: (id: string) => ReactNode;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint && <small className="muted">{hint}</small>}
    </div>
  );
}

/** A button that asks before doing something that cannot be undone. */
export function ConfirmButton({
  label,
  title,
  description,
  confirmLabel,
  onConfirm,
  disabled,
}: {
  label: string;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  disabled?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog.Root
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        setError(null);
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="danger small" disabled={disabled}>
          {label}
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>{title}</Dialog.Title>
          <Dialog.Description>{description}</Dialog.Description>
          <ErrorText error={error} />
          <div className="row end">
            <Dialog.Close asChild>
              <button type="button" className="secondary">
                Cancel
              </button>
            </Dialog.Close>
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => {
                setBusy(true);
                onConfirm().then(
                  () => {
                    setBusy(false);
                    setOpen(false);
                  },
                  (e: unknown) => {
                    setBusy(false);
                    setError(e);
                  },
                );
              }}
            >
              {confirmLabel}
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** A form whose submit runs an async action, showing its error under the form. */
export function ActionForm({
  onSubmit,
  children,
  submitLabel,
  label,
  className,
}: {
  onSubmit: (form: FormData) => Promise<unknown>;
  children: ReactNode;
  submitLabel: string;
  label: string;
  className?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errId = useId();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    setError(null);
    onSubmit(new FormData(form)).then(
      () => {
        setBusy(false);
        form.reset();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <form
      onSubmit={submit}
      aria-label={label}
      className={className ?? 'stack'}
      aria-describedby={error ? errId : undefined}
    >
      {children}
      <div>
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
      </div>
      <ErrorText error={error} id={errId} />
    </form>
  );
}

export function str(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v.trim() : '';
}

/** A button opening a dialog with a small form (e.g. a new password); errors show in the dialog. */
export function FormDialogButton({
  label,
  title,
  description,
  submitLabel,
  children,
  onSubmit,
}: {
  label: string;
  title: string;
  description: ReactNode;
  submitLabel: string;
  children: ReactNode;
  onSubmit: (form: FormData) => Promise<unknown>;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog.Root
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        setError(null);
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="secondary small">
          {label}
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>{title}</Dialog.Title>
          <Dialog.Description>{description}</Dialog.Description>
          <form
            className="stack"
            aria-label={title}
            onSubmit={(e) => {
              e.preventDefault();
              setBusy(true);
              onSubmit(new FormData(e.currentTarget)).then(
                () => {
                  setBusy(false);
                  setOpen(false);
                },
                (err: unknown) => {
                  setBusy(false);
                  setError(err);
                },
              );
            }}
          >
            {children}
            <ErrorText error={error} />
            <div className="row end">
              <Dialog.Close asChild>
                <button type="button" className="secondary">
                  Cancel
                </button>
              </Dialog.Close>
              <button type="submit" disabled={busy}>
                {submitLabel}
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
