import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { MAX_PASSWORD_LENGTH } from '../../users/passwords.js';

export class LoginDto {
  @ApiProperty({ example: 'alice' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  username: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_PASSWORD_LENGTH)
  password: string;

  @ApiPropertyOptional({
    description:
      'Browsers: set the refresh token as an httpOnly cookie (`aerugo_refresh`, SameSite=Strict, ' +
      'sent only to /api/v1/auth) instead of returning it, so that scripts cannot read it',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  refreshCookie?: boolean;
}

export class RefreshDto {
  @ApiPropertyOptional({
    description:
      'The refresh token from login or the previous refresh; when absent, the refresh cookie ' +
      '(then the new refresh token is set as the cookie again, not returned)',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  refreshToken?: string;
}

export class LogoutDto {
  @ApiPropertyOptional({
    description:
      'Ends the session of this refresh token (else of the refresh cookie, else of the access token); the refresh cookie is cleared',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  refreshToken?: string;
}

export class TokenPairDto {
  @ApiProperty({ description: 'Access JWT for `Authorization: Bearer`' })
  accessToken: string;

  @ApiProperty({ example: 'Bearer' })
  tokenType: string;

  @ApiProperty({ description: 'Access token lifetime in seconds' })
  expiresIn: number;

  @ApiPropertyOptional({
    description:
      'Single-use refresh token; each refresh returns a new one. Absent when it was set as the refresh cookie (`refreshCookie`)',
  })
  refreshToken?: string;

  @ApiProperty({ description: 'Refresh token lifetime in seconds' })
  refreshExpiresIn: number;
}
