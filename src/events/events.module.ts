import { Global, Module } from '@nestjs/common';
import { EventsService } from './events.service.js';

/** The write seam (outbox and in-process delivery); every domain module records through it. */
@Global()
@Module({ providers: [EventsService], exports: [EventsService] })
export class EventsModule {}
