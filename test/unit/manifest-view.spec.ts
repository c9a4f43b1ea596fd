import { describe, expect, it } from '@jest/globals';
import { imageConfigView } from '../../src/repos/repo-content.service.js';

// What the manifest view (GET /api/v1/repos/{ns}/{name}/manifests/{ref}) says about an image config.

describe('image config view', () => {
  it('takes the fields people read, under their own names', () => {
    expect(
      imageConfigView({
        os: 'linux',
        architecture: 'arm64',
        variant: 'v8',
        created: '2026-01-01T00:00:00Z',
        config: {
          Entrypoint: ['/bin/app'],
          Cmd: ['--serve'],
          Env: ['PATH=/bin'],
          WorkingDir: '/srv',
          User: '1000',
          Labels: { 'org.opencontainers.image.source': 'https://example.com/app' },
        },
        history: [
          { created: '2026-01-01T00:00:00Z', created_by: 'COPY app /bin/app' },
          { created_by: 'ENV PATH=/bin', empty_layer: true },
        ],
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    ).toEqual({
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
      created: '2026-01-01T00:00:00Z',
      entrypoint: ['/bin/app'],
      cmd: ['--serve'],
      env: ['PATH=/bin'],
      workingDir: '/srv',
      user: '1000',
      labels: { 'org.opencontainers.image.source': 'https://example.com/app' },
      history: [
        { created: '2026-01-01T00:00:00Z', createdBy: 'COPY app /bin/app' },
        { createdBy: 'ENV PATH=/bin', emptyLayer: true },
      ],
    });
  });

  it('leaves out what is missing or of the wrong type', () => {
    expect(imageConfigView(null)).toEqual({});
    expect(imageConfigView([1, 2])).toEqual({});
    expect(
      imageConfigView({
        os: 7,
        config: { Entrypoint: 'not a list', Labels: { a: 1 }, WorkingDir: '' },
        history: [null, 'x', { created_by: 5 }],
      }),
    ).toEqual({ history: [{}] });
  });
});
