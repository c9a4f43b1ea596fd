import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

const SCOPE_DOC = {
  description:
    'Requested access, `repository:<name>:<actions>` or `registry:catalog:*`; repeatable',
  example: 'repository:alice/app:pull,push',
};

/** Query of `GET /auth/token` (Docker token specification). */
export class TokenQueryDto {
  @ApiPropertyOptional({
    description: 'Service the token is for (from the WWW-Authenticate challenge)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  service?: string;

  @ApiPropertyOptional({ ...SCOPE_DOC, type: [String] })
  @IsOptional()
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  scope?: string | string[];

  @ApiPropertyOptional({ description: 'User name the client signs in as (informational)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  account?: string;

  @ApiPropertyOptional({ description: 'Client identifier (informational)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  client_id?: string;

  @ApiPropertyOptional({
    description: '"true" also returns a refresh token (identity token) for password sign-ins',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  offline_token?: string;
}

/** Body of `POST /auth/token` (OAuth2 form, as `docker login` and containerd send it; JSON also accepted). */
export class TokenFormDto {
  @ApiProperty({ enum: ['password', 'refresh_token'] })
  @IsIn(['password', 'refresh_token'])
  grant_type: 'password' | 'refresh_token';

  @ApiPropertyOptional({ description: 'For grant_type=password' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  username?: string;

  @ApiPropertyOptional({
    description: 'Password or API key, for grant_type=password',
    format: 'password',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ description: 'For grant_type=refresh_token' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  refresh_token?: string;

  @ApiPropertyOptional({ ...SCOPE_DOC, description: 'Space-separated scopes' })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  scope?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  service?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  client_id?: string;

  @ApiPropertyOptional({
    enum: ['online', 'offline'],
    description: '"offline" also returns a refresh token',
  })
  @IsOptional()
  @IsIn(['online', 'offline'])
  access_type?: string;
}

export class RegistryTokenDto {
  @ApiProperty({ description: 'Registry token (JWT) with the granted `access` claims' })
  token: string;

  @ApiProperty({ description: 'The same token (OAuth2 name)' })
  access_token: string;

  @ApiProperty({ description: 'Lifetime in seconds' })
  expires_in: number;

  @ApiProperty({ description: 'RFC 3339 time of issue' })
  issued_at: string;

  @ApiPropertyOptional({
    description: 'Identity token for later grant_type=refresh_token requests',
  })
  refresh_token?: string;
}

export class OAuthTokenDto {
  @ApiProperty({ description: 'Registry token (JWT) with the granted `access` claims' })
  access_token: string;

  @ApiProperty({ example: 'Bearer' })
  token_type: string;

  @ApiProperty()
  expires_in: number;

  @ApiProperty()
  issued_at: string;

  @ApiProperty({ description: 'The granted scopes, space-separated' })
  scope: string;

  @ApiPropertyOptional()
  refresh_token?: string;
}

export class RegistryErrorDto {
  @ApiProperty({
    example: [{ code: 'UNAUTHORIZED', message: 'invalid username, password or API key' }],
  })
  errors: { code: string; message: string }[];
}

export class OAuthErrorDto {
  @ApiProperty({ example: 'invalid_grant' })
  error: string;

  @ApiPropertyOptional()
  error_description?: string;
}
