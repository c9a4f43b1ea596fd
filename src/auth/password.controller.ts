import type { Actor } from '../common/actor.js';
import { Body, Controller, HttpCode, Put, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ChangePasswordDto } from '../users/dto/users.dto.js';
import { AuthService } from './auth.service.js';
import { withRetryAfter } from './credentials.service.js';
import { Authenticated, CurrentActor, CurrentPrincipal, requirePrincipal } from './decorators.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import type { UserPrincipal } from './principal.js';

/**
 * `PUT /users/me/password`: served by the Auth module, which owns the sign-in limits that a wrong
 * current password counts against.
 */
@ApiTags('users')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('users')
export class PasswordController {
  constructor(private readonly auth: AuthService) {}

  @Put('me/password')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({
    // The id it had while UsersController served it: generated clients keep their method name.
    operationId: 'usersChangePassword',
    summary:
      "Change the caller's password; ends every other session and revokes registry tokens issued with the old password",
    description:
      'A wrong current password counts as a failed sign-in for the account and the address ' +
      '(AUTH_RATE_LIMIT_*): past the limit the answer is 429 with Retry-After.',
  })
  @ApiNoContentResponse({ description: 'Password changed' })
  @ApiForbiddenResponse({ description: 'The current password is wrong', type: ErrorResponseDto })
  async changePassword(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Body() body: ChangePasswordDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const caller = requirePrincipal(p);
    await withRetryAfter(
      res,
      this.auth.changePassword(caller, body.currentPassword, body.newPassword, req.ip, actor),
    );
  }
}
